// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "vmctl",
    products: [
        .executable(name: "vmctl", targets: ["vmctl"]),
        .library(name: "Libvirt", targets: ["Libvirt"]),
        .library(name: "LibvirtXML", targets: ["LibvirtXML"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .target(name: "Libvirt", dependencies: ["CLibvirt"]),
        .target(name: "LibvirtXML"),
        .target(name: "CSystem"),
        .target(
            name: "VMCtlCore",
            dependencies: [
                "Libvirt", "LibvirtXML", "CSystem", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/tiny-image")]
        ),
        .target(
            name: "VMCtlCommands",
            dependencies: [
                "VMCtlCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "vmctl", dependencies: ["VMCtlCommands"]),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"]),
        .testTarget(name: "LibvirtXMLTests", dependencies: ["LibvirtXML", "Libvirt"], resources: [.copy("Golden")]),
        .testTarget(name: "VMCtlCoreTests", dependencies: ["VMCtlCore", "LibvirtXML", "CSystem"]),
        .testTarget(name: "VMCtlIntegrationTests", dependencies: ["VMCtlCore"]),
    ]
)
