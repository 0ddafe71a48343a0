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
        .systemLibrary(
            name: "CImageCodecs",
            path: "Sources/CImageCodecs",
            providers: [.apt(["libjpeg62-turbo-dev", "libpng-dev", "libwebp-dev", "libgif-dev"])]
        ),
        // libjpeg and libpng report fatal errors with longjmp, which Swift cannot catch, so
        // these C functions wrap each whole decode in setjmp and return an error code instead.
        .target(
            name: "CImageCodecShims",
            dependencies: ["CImageCodecs"],
            path: "Sources/CImageCodecShims"
        ),
        // The element-wise kernels, in C so that they can use AVX-512 intrinsics behind a
        // run-time processor check.
        .target(
            name: "CKernels",
            path: "Sources/CKernels"
        ),
        .target(
            name: "MMRet",
            dependencies: ["CBLAS", "CDNNL", "CKernels", "CImageCodecs", "CImageCodecShims"]
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
