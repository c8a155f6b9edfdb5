import Foundation
import Libvirt
import LibvirtXML

/// Keeps `ControlState` in libvirt: in the `<metadata>` of a network named `vmctl-control` that is defined
/// but never started. libvirt has no object for "global settings"; an inactive network is visible
/// (`virsh net-dumpxml vmctl-control`), survives daemon restarts and is reachable over remote URIs.
public struct ControlStore {
    public static let networkName = "vmctl-control"
    let session: Session

    public init(session: Session) { self.session = session }

    /// The host-wide lock every change of firewall-relevant state (this store and VMs' metadata) holds from
    /// its read to its write.
    static let lockName = "control"

    /// Refuses the store's own name where a user names a network: making, starting or deleting it would
    /// destroy or hide every pool, group and router.
    public static func requireNotReserved(network name: String) throws {
        if name == networkName { throw VMCtlError.invalid("network name '\(name)' is reserved for vmctl's control state") }
    }

    /// The state, or an empty one when the store was never written. Any other failure to read it is an
    /// error: an empty state taken for the real one would be saved by the next change, wiping it.
    public func load() throws -> ControlState {
        let network: Network
        do {
            network = try session.connection.lookupNetwork(name: Self.networkName)
        } catch let error as LibvirtError where error.isNotFound {
            return ControlState()
        } catch let error as LibvirtError {
            throw error.context("cannot read vmctl's control state")
        }
        let document = try libvirt("cannot read vmctl's control state") { try NetworkDocument(xml: network.xml(inactive: true)) }
        return try Self.decode(document.metadata(namespaceURI: VMCtlNames.metadataNamespace))
    }

    /// The state in the store network's metadata element; a missing or unreadable element is an error.
    static func decode(_ element: XML.Element?) throws -> ControlState {
        guard let element else {
            throw VMCtlError.invalid("network '\(networkName)' holds no vmctl control state (was it made or edited by hand?); restore its metadata or remove it with virsh net-undefine \(networkName)")
        }
        do {
            let state = try JSONDecoder().decode(ControlState.self, from: Data(element.text.utf8))
            guard state.version == ControlState.currentVersion else {
                throw VMCtlError.invalid("vmctl-control holds state version \(state.version); this vmctl reads version \(ControlState.currentVersion)")
            }
            return state
        } catch let error as VMCtlError {
            throw error
        } catch {
            throw VMCtlError(.invalid, "vmctl's control state in network '\(networkName)' is unreadable: \(error)", cause: error)
        }
    }

    func save(_ state: ControlState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(state), as: UTF8.self)
        var document = NetworkDocument(
            name: Self.networkName,
            metadata: [XML.Element("\(VMCtlNames.metadataPrefix):control", attributes: [
                ("xmlns:\(VMCtlNames.metadataPrefix)", VMCtlNames.metadataNamespace), ("version", "1"),
            ], text: json)],
            forward: nil, bridgeName: "vmctl-ctl0", ipv4: nil)
        // Redefining keeps the network's UUID: libvirt refuses a definition of the same name with another one.
        document.uuid = try libvirt("cannot read vmctl's control state") {
            try unlessVanished { try session.connection.lookupNetwork(name: Self.networkName).uuid }
        }
        try libvirt("cannot save vmctl's control state") { _ = try session.connection.defineNetwork(xml: document.xml) }
    }
}
