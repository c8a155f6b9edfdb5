import Foundation
import Yams

struct FleetMapping {
    let owner: FleetNode
    let entries: [(key: String, keyLine: Int, value: FleetNode)]

    subscript(key: String) -> FleetNode? { entries.first { $0.key == key }?.value }

    func required(_ key: String) throws -> FleetNode {
        guard let value = self[key] else { throw owner.error("missing required key '\(key)'") }
        return value
    }
}
