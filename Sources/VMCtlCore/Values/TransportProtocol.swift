public enum TransportProtocol: String, Codable, Sendable, CaseIterable { case tcp, udp }
