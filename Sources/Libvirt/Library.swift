internal import CLibvirt

/// libvirt's process-wide setup, made once before the first connection opens.
enum Library {
    /// libvirt sets itself up on first use, which is not safe when two threads make that first use at once
    /// (a test process opening several `test:///default` connections in parallel crashed in it): its
    /// documentation asks threaded programs to call `virInitialize` before anything else. A static is
    /// initialized exactly once, other threads waiting for it. libvirt's default error handler, which prints
    /// every error to stderr, is replaced too: errors are read per call.
    private static let status: Int32 = {
        let status = virInitialize()
        virSetErrorFunc(nil) { _, _ in }
        return status
    }()

    static func prepare() throws {
        guard status == 0 else { throw LibvirtError.last(fallback: "cannot initialize libvirt") }
    }
}
