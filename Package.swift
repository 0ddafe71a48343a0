// swift-tools-version: 6.0
import PackageDescription

// Release builds skip Swift's bounds and overflow checks in the numeric kernels; debug
// builds (and so `swift test`) keep them, which is where an out-of-range index shows up.
let kernelSettings: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "mmret-swift",
    products: [
        .library(name: "MMRet", targets: ["MMRet"]),
        .executable(name: "mmret", targets: ["mmret"]),
    ],
    targets: [
        // Debian's C libraries, reached only through their wrapper files in MMRet/Tensor.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CDNNL",
            path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        .target(
            name: "MMRet",
            dependencies: ["CBLAS", "CDNNL"],
            swiftSettings: kernelSettings
        ),
        .executableTarget(
            name: "mmret",
            dependencies: ["MMRet"],
            swiftSettings: kernelSettings
        ),
        .testTarget(
            name: "MMRetTests",
            dependencies: ["MMRet"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
