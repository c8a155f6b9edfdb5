import Foundation
import Yams

struct LabMapping {
    let owner: LabNode
    let entries: [(key: String, keyLine: Int, value: LabNode)]

    subscript(key: String) -> LabNode? { entries.first { $0.key == key }?.value }

    func required(_ key: String) throws -> LabNode {
        guard let value = self[key] else { throw owner.error("missing required key '\(key)'") }
        return value
    }
}
