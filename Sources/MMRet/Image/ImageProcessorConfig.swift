import Foundation

/// The settings of transformers' `CLIPImageProcessor`, read from a model's
/// preprocessor_config.json with transformers 4.45.2's defaults for omitted keys.
public struct ImageProcessorConfig: Sendable, Equatable {
    /// The `size` setting: resize so the shorter side has this length, or to exactly this size.
    public enum Size: Sendable, Equatable {
        case shortestEdge(Int)
        case exact(height: Int, width: Int)
    }

    public var doResize = true
    public var size = Size.shortestEdge(224)
    public var resample = ResamplingFilter.bicubic
    public var doCenterCrop = true
    public var cropHeight = 224
    public var cropWidth = 224
    public var doRescale = true
    public var rescaleFactor = 1.0 / 255.0
    public var doNormalize = true
    /// OpenAI CLIP's channel means and standard deviations, transformers' defaults.
    public var imageMean: [Double] = [0.48145466, 0.4578275, 0.40821073]
    public var imageStd: [Double] = [0.26862954, 0.26130258, 0.27577711]
    /// Stored for completeness. Images are always converted to RGB, because the model needs
    /// three channels; with this off transformers would fail or differ on non-RGB files.
    public var doConvertRGB = true

    public init() {}

    /// Reads preprocessor_config.json in `directory`.
    public init(directory: URL) throws(ConfigError) {
        let url = directory.appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ConfigError(
                path: url.path, key: nil,
                reason: "the file is missing; image inputs need the model's preprocessor_config.json"
            )
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigError(path: url.path, key: nil, reason: "cannot read it (\(error.localizedDescription))")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ConfigError(path: url.path, key: nil, reason: "not a JSON object")
        }
        try self.init(json: root, path: url.path)
    }

    init(json: [String: Any], path: String) throws(ConfigError) {
        let reader = ProcessorConfigReader(path: path, json: json)
        doResize = try reader.flag("do_resize", default: doResize)
        if let sizeValue = reader.value("size") {
            size = try reader.size(sizeValue, key: "size")
        }
        if let resampleValue = reader.value("resample") {
            resample = try reader.resample(resampleValue)
        }
        doCenterCrop = try reader.flag("do_center_crop", default: doCenterCrop)
        if let cropValue = reader.value("crop_size") {
            // transformers reads an integer crop_size as a square (default_to_square=True).
            switch try reader.size(cropValue, key: "crop_size", integerIsSquare: true) {
            case .exact(let height, let width):
                cropHeight = height
                cropWidth = width
            case .shortestEdge:
                throw ConfigError(path: path, key: "crop_size", reason: "expected {\"height\", \"width\"} or an integer")
            }
        }
        doRescale = try reader.flag("do_rescale", default: doRescale)
        rescaleFactor = try reader.number("rescale_factor", default: rescaleFactor)
        doNormalize = try reader.flag("do_normalize", default: doNormalize)
        imageMean = try reader.triple("image_mean", default: imageMean)
        imageStd = try reader.triple("image_std", default: imageStd)
        doConvertRGB = try reader.flag("do_convert_rgb", default: doConvertRGB)
        try validate(path: path)
    }

    /// Checks the settings that the JSON reader cannot check key by key. Configs built in code
    /// go through it too, and `path` names the config in the error.
    public func validate(path: String) throws(ConfigError) {
        for (key, values) in [("image_mean", imageMean), ("image_std", imageStd)] where values.count != 3 {
            throw ConfigError(path: path, key: key, reason: "expected 3 values (one per RGB channel), got \(values.count)")
        }
        if doNormalize, let zero = imageStd.firstIndex(of: 0) {
            throw ConfigError(path: path, key: "image_std", reason: "channel \(zero) is zero, which divides by zero")
        }
        let sizes: [(String, Int)]
        switch size {
        case .shortestEdge(let edge): sizes = [("size", edge), ("crop_size", cropHeight), ("crop_size", cropWidth)]
        case .exact(let height, let width): sizes = [("size", height), ("size", width), ("crop_size", cropHeight), ("crop_size", cropWidth)]
        }
        for (key, value) in sizes where value < 1 || value > 65536 {
            throw ConfigError(path: path, key: key, reason: "expected sides from 1 to 65536, got \(value)")
        }

        // The encoder stacks images into one batch, so every image must come out the same size.
        if !doCenterCrop {
            if !doResize {
                throw ConfigError(
                    path: path, key: "do_center_crop",
                    reason: "with do_resize and do_center_crop both false, output sizes follow each image; enable one of them"
                )
            }
            if case .shortestEdge = size {
                throw ConfigError(
                    path: path, key: "do_center_crop",
                    reason: "a shortest_edge resize without a centre crop gives a different size per image; "
                        + "set do_center_crop to true or size to {\"height\", \"width\"}"
                )
            }
        }
    }

    /// Height and width of every preprocessed image.
    public var outputSize: (height: Int, width: Int) {
        if doCenterCrop {
            return (cropHeight, cropWidth)
        }
        switch size {
        case .exact(let height, let width):
            return (height, width)
        case .shortestEdge(let edge):
            // Unreachable for a validated config; kept total.
            return (edge, edge)
        }
    }

    /// Returns the size `CLIPImageProcessor.resize` gives an image of `width` x `height`.
    ///
    /// For a shortest-edge size the longer side is `int(edge * long / short)` in Python,
    /// a true division truncated toward zero.
    func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        guard doResize else { return (width, height) }
        switch size {
        case .exact(let height, let width):
            return (width, height)
        case .shortestEdge(let edge):
            let short = min(width, height)
            let long = max(width, height)
            let newLong = Int(Double(edge * long) / Double(short))
            return width <= height ? (edge, newLong) : (newLong, edge)
        }
    }
}

/// Typed lookups in preprocessor_config.json that name the key on failure.
private struct ProcessorConfigReader {
    let path: String
    let json: [String: Any]

    func value(_ key: String) -> Any? {
        guard let value = json[key], !(value is NSNull) else { return nil }
        return value
    }

    /// Reads a switch. Foundation's JSON numbers 0 and 1 also read as false and true, which
    /// matches Python's truthiness for those values.
    func flag(_ key: String, default defaultValue: Bool) throws(ConfigError) -> Bool {
        guard let value = value(key) else { return defaultValue }
        guard let flag = value as? Bool else {
            throw ConfigError(path: path, key: key, reason: "expected true or false, got \(value)")
        }
        return flag
    }

    func number(_ key: String, default defaultValue: Double) throws(ConfigError) -> Double {
        guard let value = value(key) else { return defaultValue }
        guard let number = value as? NSNumber, number.doubleValue.isFinite else {
            throw ConfigError(path: path, key: key, reason: "expected a number, got \(value)")
        }
        return number.doubleValue
    }

    func triple(_ key: String, default defaultValue: [Double]) throws(ConfigError) -> [Double] {
        guard let value = value(key) else { return defaultValue }
        // transformers accepts one number for all channels as well.
        if let number = value as? NSNumber, number.doubleValue.isFinite {
            return Array(repeating: number.doubleValue, count: 3)
        }
        guard let list = value as? [Any], list.count == 3 else {
            throw ConfigError(path: path, key: key, reason: "expected a list of 3 numbers (one per RGB channel), got \(value)")
        }
        var numbers: [Double] = []
        for item in list {
            guard let number = item as? NSNumber, number.doubleValue.isFinite else {
                throw ConfigError(path: path, key: key, reason: "expected a list of 3 numbers, got \(value)")
            }
            numbers.append(number.doubleValue)
        }
        return numbers
    }

    func positiveInteger(_ value: Any, key: String) throws(ConfigError) -> Int {
        guard let number = value as? NSNumber, number.doubleValue.rounded() == number.doubleValue,
              number.doubleValue >= 1, number.doubleValue <= 65536
        else {
            throw ConfigError(path: path, key: key, reason: "expected an integer from 1 to 65536, got \(value)")
        }
        return number.intValue
    }

    /// Reads `size` or `crop_size` in the forms transformers' `get_size_dict` accepts:
    /// an integer, [height, width], {"shortest_edge"} or {"height", "width"}.
    func size(_ value: Any, key: String, integerIsSquare: Bool = false) throws(ConfigError) -> ImageProcessorConfig.Size {
        if value is NSNumber {
            let edge = try positiveInteger(value, key: key)
            return integerIsSquare ? .exact(height: edge, width: edge) : .shortestEdge(edge)
        }
        if let list = value as? [Any], list.count == 2 {
            return .exact(height: try positiveInteger(list[0], key: key), width: try positiveInteger(list[1], key: key))
        }
        guard let object = value as? [String: Any] else {
            throw ConfigError(path: path, key: key, reason: "expected an integer or an object, got \(value)")
        }
        let keys = Set(object.keys)
        if keys == ["shortest_edge"], let edge = object["shortest_edge"] {
            return .shortestEdge(try positiveInteger(edge, key: key + ".shortest_edge"))
        }
        if keys == ["height", "width"], let height = object["height"], let width = object["width"] {
            return .exact(height: try positiveInteger(height, key: key + ".height"), width: try positiveInteger(width, key: key + ".width"))
        }
        throw ConfigError(
            path: path, key: key,
            reason: "expected {\"shortest_edge\"} or {\"height\", \"width\"}, got keys \(keys.sorted()); "
                + "longest_edge and max_size are not supported"
        )
    }

    func resample(_ value: Any) throws(ConfigError) -> ResamplingFilter {
        guard let number = value as? NSNumber, let filter = ResamplingFilter(rawValue: number.intValue),
              Double(number.intValue) == number.doubleValue
        else {
            throw ConfigError(
                path: path, key: "resample",
                reason: "unsupported value \(value); supported: 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box), "
                    + "5 (hamming), 6 (MKS2013), 7 (MKS2021); 0 (nearest) is not implemented"
            )
        }
        return filter
    }
}
