import Foundation

/// The kind of an input: a text, an image id, or a composed query of both (`mm_it`, a
/// modification text applied to a reference image).
public enum EncodingType: String, Sendable, CaseIterable {
    case text
    case image
    case composed = "mm_it"

    /// Parses the reference's type names, naming the accepted ones when `name` is another.
    public init(name: String) throws(EncoderError) {
        guard let type = EncodingType(rawValue: name) else {
            throw .unknownType(name)
        }
        self = type
    }
}

/// The settings of an `MMRetEncoder`.
public struct EncoderOptions: Sendable {
    /// Whether text and image embeddings are scaled to unit L2 norm. Composed embeddings
    /// are always normalised, since their definition normalises the summed features.
    public var normalized = true
    /// fp32 (the default and the reference path) or bf16 weights and GEMM inputs, which
    /// is about twice as fast on processors with AVX512-BF16 and keeps cosine ≥ 0.999
    /// against fp32. The reference's `use_fp16` has the same role on a GPU.
    public var precision = Precision.fp32
    /// The folder that image ids are relative to. Without it, ids are paths relative to
    /// the working directory, or absolute paths.
    public var imageDirectory: URL?
    /// Threads for the model's arithmetic; nil uses every active core.
    public var threadCount: Int?
    /// Inputs per forward pass. It changes speed and memory use, never results. The
    /// reference's default is 256; 32 keeps both cores busy with a tenth of the memory.
    public var batchSize = 32
    /// Token limit of a text, special tokens included; longer texts are truncated.
    public var textMaxLength = 77
    /// Token limit of the caption of a composed query.
    public var composedTextMaxLength = 75
    public var imageDecoding = ImageDecodingOptions()
    /// Receives warnings, such as an image id completed with ".jpg". The default writes
    /// them to stderr.
    public var warningHandler: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
    }

    public init() {}
}

/// An input the encoder cannot embed. Indices count from 0 in the order inputs were given.
public enum EncoderError: Error, CustomStringConvertible, Equatable {
    case unknownType(String)
    case missingImage(index: Int, id: String, path: String)
    case invalidImage(index: Int, id: String, reason: String)
    case countMismatch(captions: Int, images: Int)
    case missingInputs(type: EncodingType, field: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unknownType(let name):
            let known = EncodingType.allCases.map(\.rawValue).joined(separator: ", ")
            return "unknown input type '\(name)'; use one of \(known)"
        case .missingImage(_, let id, let path):
            return "image '\(id)' not found at \(path); image ids are paths relative to the image directory"
        case .invalidImage(_, let id, let reason):
            return "image '\(id)': \(reason)"
        case .countMismatch(let captions, let images):
            return "a composed query needs one caption per image, got \(captions) captions and \(images) images"
        case .missingInputs(let type, let field):
            return "inputs of type \(type.rawValue) need a '\(field)' list"
        case .invalidOption(let message):
            return message
        }
    }

    /// The position of the input at fault, when one input is.
    public var inputIndex: Int? {
        switch self {
        case .missingImage(let index, _, _), .invalidImage(let index, _, _): index
        default: nil
        }
    }
}
