import VMCtlCore

/// Runs a core call and, when it fails with an error about `hint`, rewords that error to name this command's
/// flag for it: core's messages name no flag, since a lab file that reaches the same code has none.
func naming<T>(_ hint: VMCtlError.Hint, _ reword: (VMCtlError) -> VMCtlError, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as VMCtlError where error.hint == hint {
        throw reword(error)
    }
}
