import Foundation
import Libvirt
import LibvirtXML

public struct VMDetails: Codable, Sendable, Equatable {
    public let name: String
    public let uuid: String
    public let state: String
    public let cpus: Int
    public let maxCPUs: Int
    public let memory: String
    public let maxMemory: String
    public let accelerator: String
    public let image: String?
    public let flavor: String?
    public let instanceID: String?
    public let created: String?
    public let network: String?
    public let mac: String?
    public let addresses: [IPv4Address]
    public let disks: [Disk]
    public let serialLog: String?

    public struct Disk: Codable, Sendable, Equatable {
        public let target: String
        public let volume: String
        public let capacity: String
        public let allocation: String
        public let readOnly: Bool
    }
}
