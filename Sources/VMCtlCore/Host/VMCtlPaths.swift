import Foundation

public enum VMCtlPaths {
    /// Local state that is not about a VM (vmctl's SSH key, image build cache).
    public static var stateDirectory: String {
        if let override = ProcessInfo.processInfo.environment["VMCTL_STATE_DIR"] { return override }
        return getuid() == 0 ? "/var/lib/vmctl" : NSHomeDirectory() + "/.local/share/vmctl"
    }

    /// Where the vmctl storage pool keeps its volumes on the libvirt host.
    public static let poolDirectory = "/var/lib/vmctl/pool"
}
