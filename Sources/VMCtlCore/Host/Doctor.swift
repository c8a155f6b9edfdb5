import Foundation
import Libvirt

/// Checks what vmctl needs from the host, saying for each what blocks use and what only slows it down.
public enum Doctor {
    public static func run(uri: String) -> [HealthCheck] {
        let session: Session
        do {
            session = try Session(uri: uri)
        } catch {
            return [HealthCheck(check: "libvirt", status: .failure, detail: "\(error)")]
        }
        var checks: [HealthCheck] = []
        let connection = session.connection
        let library = (try? connection.libraryVersion).map { "\($0.major).\($0.minor).\($0.release)" } ?? "?"
        checks.append(HealthCheck(check: "libvirt", status: .ok, detail: "connected to \(uri) (libvirt \(library))"))
        if let joined = session.joinedNamespace {
            checks.append(HealthCheck(check: "namespace", status: .ok,
                detail: "libvirtd (pid \(joined.daemonPID)) runs in network namespace \(joined.name ?? "(unnamed)"); vmctl joins it"))
        }
        checks.append(qemuCheck(connection))
        let kvm = session.kvmStatus
        checks.append(kvm.isUsable
            ? HealthCheck(check: "kvm", status: .ok, detail: kvm.reason)
            : HealthCheck(check: "kvm", status: .warning, detail: "\(kvm.reason); TCG software emulation will be used"))
        checks.append(poolCheck(session))
        checks.append(networkCheck(connection))
        checks.append(imageCheck(session))
        if session.isLocal {
            checks.append(firewallCheck())
            checks.append(contentsOf: toolChecks())
        }
        return checks
    }

    private static func qemuCheck(_ connection: Connection) -> HealthCheck {
        do {
            _ = try connection.domainCapabilities(arch: "x86_64", virtType: "qemu")
            let version = try connection.hypervisorVersion
            return HealthCheck(check: "qemu", status: .ok, detail: "QEMU \(version.major).\(version.minor).\(version.release) (x86_64)")
        } catch {
            return HealthCheck(check: "qemu", status: .failure, detail: "no usable QEMU for x86_64: \(error) (install qemu-system-x86)")
        }
    }

    private static func poolCheck(_ session: Session) -> HealthCheck {
        do {
            guard let pool = try Storage(session: session).existingPool() else {
                return HealthCheck(check: "storage", status: .ok,
                                   detail: "pool '\(VMCtlNames.storagePool)' will be created on first use at \(VMCtlPaths.poolDirectory)")
            }
            let info = try pool.info()
            guard info.isRunning else {
                return HealthCheck(check: "storage", status: .warning, detail: "pool '\(pool.name)' is defined but inactive; vmctl starts it on use")
            }
            return HealthCheck(check: "storage", status: .ok,
                               detail: "pool '\(pool.name)' active, \(ByteSize(bytes: info.available)) free")
        } catch {
            return HealthCheck(check: "storage", status: .failure, detail: "storage pool: \(error)")
        }
    }

    private static func networkCheck(_ connection: Connection) -> HealthCheck {
        guard let network = try? connection.lookupNetwork(name: VMCtlNames.defaultNetwork) else {
            return HealthCheck(check: "network", status: .ok, detail: "network '\(VMCtlNames.defaultNetwork)' will be created on first use")
        }
        let active = (try? network.isActive) ?? false
        return HealthCheck(check: "network", status: .ok,
                           detail: "network '\(network.name)' \(active ? "active" : "defined (started on use)")")
    }

    private static func imageCheck(_ session: Session) -> HealthCheck {
        if let image = try? Storage(session: session).images().first(where: { $0.name == TinyImage.name }) {
            return HealthCheck(check: "image", status: .ok, detail: "image '\(image.name)' present (\(ByteSize(bytes: image.allocation)) on disk)")
        }
        return HealthCheck(check: "image", status: .ok, detail: "image '\(TinyImage.name)' will be built on first use (vmctl image build tiny)")
    }

    private static func firewallCheck() -> HealthCheck {
        let version = (try? ProcessRunner.capture("iptables", ["--version"]))?.output.trimmingSpaces ?? ""
        guard !version.isEmpty else {
            return HealthCheck(check: "firewall", status: .failure, detail: "iptables not found: libvirt's NAT networks need it (install iptables)")
        }
        let backend = version.contains("nf_tables") ? "iptables-nft" : "iptables-legacy"
        let forward = (try? ProcessRunner.capture("iptables", ["-S", "FORWARD"]))?.output ?? ""
        if forward.split(separator: "\n").contains("-P FORWARD DROP") {
            return HealthCheck(check: "firewall", status: .warning,
                detail: "\(backend); the FORWARD policy is DROP (Docker sets it): forwarded guest traffic needs explicit accepts")
        }
        return HealthCheck(check: "firewall", status: .ok, detail: "\(backend), FORWARD policy accepts; nft \(commandExists("nft") ? "present" : "missing")")
    }

    private static func toolChecks() -> [HealthCheck] {
        let tools: [(String, String, String)] = [
            ("ssh", "openssh-client", "vmctl ssh"),
            ("ssh-keygen", "openssh-client", "vmctl's SSH key"),
            ("dhcp_release", "dnsmasq-utils", "freeing a deleted VM's lease at once"),
        ]
        return tools.map { tool, package, purpose in
            commandExists(tool)
                ? HealthCheck(check: tool, status: .ok, detail: "present")
                : HealthCheck(check: tool, status: .warning, detail: "missing (apt install \(package)); needed for \(purpose)")
        }
    }

    static func commandExists(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
