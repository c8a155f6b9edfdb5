import Foundation
import Libvirt
import LibvirtXML

/// A VM's root disk, looked up for copying while the VM is off.
struct StoppedRootDisk {
    let domain: Domain
    let document: DomainDocument
    let metadata: VMMetadata?
    let volume: StorageVolume
}
