import Foundation

/// Turns image files into the `pixel_values` of transformers' `CLIPImageProcessor`
/// (transformers 4.45.2 with Pillow): decode, convert to RGB, resize, centre crop, rescale
/// and normalise, channels first.
///
/// A value type without mutable state, so one instance can serve several threads at once.
public struct ImagePreprocessor: Sendable {
    public let config: ImageProcessorConfig
    public let options: ImageDecodingOptions
    public let height: Int
    public let width: Int
    /// Output value per channel and 8-bit sample, computed with the reference's arithmetic.
    private let lookup: [Float]

    public var channels: Int { 3 }
    public var valuesPerImage: Int { 3 * height * width }

    /// Reads preprocessor_config.json in `modelDirectory`.
    public init(modelDirectory: URL, options: ImageDecodingOptions = .init()) throws {
        try self.init(config: ImageProcessorConfig(directory: modelDirectory), options: options)
    }

    /// Uses `config` as given; a config that `ImageProcessorConfig.validate` rejects throws.
    public init(config: ImageProcessorConfig, options: ImageDecodingOptions = .init()) throws(ConfigError) {
        try config.validate(path: "ImageProcessorConfig")
        self.config = config
        self.options = options
        (height, width) = config.outputSize
        lookup = Self.makeLookup(config)
    }

    /// Decodes and preprocesses one file into `destination` (count == valuesPerImage), channels first.
    public func preprocess(fileAt url: URL, into destination: UnsafeMutableBufferPointer<Float>) throws(ImageError) {
        precondition(destination.count == valuesPerImage, "destination holds \(destination.count) values, expected \(valuesPerImage)")
        let image = try ImageDecoder.decode(fileAt: url, options: options)
        preprocess(image, into: destination)
    }

    public func pixelValues(fileAt url: URL) throws(ImageError) -> [Float] {
        var values = [Float](repeating: 0, count: valuesPerImage)
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ImageError) in
            try preprocess(fileAt: url, into: buffer)
        }
        return values
    }

    /// Preprocesses an in-memory file; `name` only identifies it in errors.
    public func pixelValues(imageData data: Data, name: String) throws(ImageError) -> [Float] {
        let image = try ImageDecoder.decode(data, path: name, options: options)
        var values = [Float](repeating: 0, count: valuesPerImage)
        values.withUnsafeMutableBufferPointer { preprocess(image, into: $0) }
        return values
    }

    /// Resizes, crops and normalises a decoded image.
    func preprocess(_ image: RGBImage, into destination: UnsafeMutableBufferPointer<Float>) {
        let crop = placement(of: image)
        let pixels: [UInt8]
        if config.doResize && (crop.resized.width != image.width || crop.resized.height != image.height) {
            pixels = ImageResampler.resize(
                image, width: crop.resized.width, height: crop.resized.height, filter: config.resample,
                window: (crop.source.x, crop.source.y)
            )
        } else {
            pixels = Self.copyWindow(image, columns: crop.source.x, rows: crop.source.y)
        }
        write(pixels, placement: crop, into: destination)
    }

    /// The placement of the resized image in the output: the part of it that is kept
    /// (`source`) and the output offset of that part (`target`, non-zero when zero padding
    /// surrounds it).
    struct Placement {
        var resized: (width: Int, height: Int)
        var source: (x: Range<Int>, y: Range<Int>)
        var target: (x: Int, y: Int)
    }

    /// Computes transformers' `center_crop`: top = (h - crop_h) // 2 and left = (w - crop_w) // 2
    /// when the image is larger, else the image is centred on zeros with ceil((crop - size) / 2)
    /// before it.
    func placement(of image: RGBImage) -> Placement {
        let resized = config.resizedSize(width: image.width, height: image.height)
        guard config.doCenterCrop else {
            return Placement(resized: resized, source: (0..<resized.width, 0..<resized.height), target: (0, 0))
        }
        func axis(size: Int, crop: Int) -> (Range<Int>, Int) {
            if size >= crop {
                let start = (size - crop) / 2
                return (start..<(start + crop), 0)
            }
            return (0..<size, (crop - size + 1) / 2)
        }
        let (columns, left) = axis(size: resized.width, crop: config.cropWidth)
        let (rows, top) = axis(size: resized.height, crop: config.cropHeight)
        return Placement(resized: resized, source: (columns, rows), target: (left, top))
    }

    private func write(_ pixels: [UInt8], placement: Placement, into destination: UnsafeMutableBufferPointer<Float>) {
        let plane = height * width
        let sourceWidth = placement.source.x.count
        let sourceHeight = placement.source.y.count
        lookup.withUnsafeBufferPointer { lookup in
            // Padding is the zero sample after rescaling and normalisation.
            if sourceWidth != width || sourceHeight != height {
                for channel in 0..<3 {
                    let zero = lookup[channel * 256]
                    for index in 0..<plane {
                        destination[channel * plane + index] = zero
                    }
                }
            }
            pixels.withUnsafeBufferPointer { pixels in
                for y in 0..<sourceHeight {
                    let rowStart = (placement.target.y + y) * width + placement.target.x
                    for x in 0..<sourceWidth {
                        let sample = (y * sourceWidth + x) * 3
                        destination[rowStart + x] = lookup[Int(pixels[sample])]
                        destination[plane + rowStart + x] = lookup[256 + Int(pixels[sample + 1])]
                        destination[2 * plane + rowStart + x] = lookup[512 + Int(pixels[sample + 2])]
                    }
                }
            }
        }
    }

    private static func copyWindow(_ image: RGBImage, columns: Range<Int>, rows: Range<Int>) -> [UInt8] {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(columns.count * rows.count * 3)
        for row in rows {
            let start = (row * image.width + columns.lowerBound) * 3
            pixels.append(contentsOf: image.pixels[start..<(start + columns.count * 3)])
        }
        return pixels
    }

    /// Builds the 3 x 256 table of output values. transformers rescales in float64 and casts to
    /// float32 (`(image.astype(float64) * scale).astype(float32)`), then normalises in float32
    /// as `(value - float32(mean)) / float32(std)`; this repeats that arithmetic per sample.
    private static func makeLookup(_ config: ImageProcessorConfig) -> [Float] {
        var table = [Float](repeating: 0, count: 3 * 256)
        for channel in 0..<3 {
            let mean = Float(config.imageMean[channel])
            let std = Float(config.imageStd[channel])
            for sample in 0..<256 {
                var value = config.doRescale ? Float(Double(sample) * config.rescaleFactor) : Float(sample)
                if config.doNormalize {
                    value = (value - mean) / std
                }
                table[channel * 256 + sample] = value
            }
        }
        return table
    }
}
