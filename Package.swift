// swift-tools-version: 6.0
import PackageDescription

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
        // The element-wise kernels, in C so that they can use AVX-512 intrinsics behind a
        // run-time processor check.
        .target(
            name: "CKernels",
            path: "Sources/CKernels"
        ),
        .target(
            name: "MMRet",
            dependencies: ["CBLAS", "CDNNL", "CKernels"]
        ),
        .executableTarget(
            name: "mmret",
            dependencies: ["MMRet"]
        ),
        .testTarget(
            name: "MMRetTests",
            dependencies: ["MMRet"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
