public enum NetworkMode: String, Codable, Sendable, CaseIterable {
    /// Guests reach out through the host (masquerade); nothing reaches them unless forwarded or floated.
    case nat
    /// The host and routed neighbours reach guest addresses directly (subject to security groups).
    case routed
    /// Guests reach each other only.
    case isolated
}
