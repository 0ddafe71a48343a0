/// A checkpoint that cannot be loaded. Every case names the file or tensor at fault.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case malformedHeader(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case missingTensor(name: String, expectedShape: [Int])
    case unexpectedTensor(name: String, path: String)
    case shapeMismatch(name: String, expected: [Int], actual: [Int], path: String)
    case malformedIndex(path: String, reason: String)
    case noWeights(directory: String)
    case unsupportedPrecision(Precision)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            "cannot read \(path): \(reason)"
        case let .malformedHeader(path, reason):
            "\(path) is not a valid safetensors file: \(reason); re-download or re-export the checkpoint"
        case let .unsupportedDType(path, tensor, dtype):
            "tensor '\(tensor)' in \(path) has dtype \(dtype); supported dtypes are F32, F16 and BF16 for weights (I64 and I32 for integer data)"
        case let .missingTensor(name, expectedShape):
            "the checkpoint has no tensor '\(name)' (expected shape \(expectedShape)); is config.json the one that belongs to these weights?"
        case let .unexpectedTensor(name, path):
            "unexpected tensor '\(name)' in \(path): it is not part of a CLIPModel with this config.json; check that config.json matches the weights"
        case let .shapeMismatch(name, expected, actual, path):
            "tensor '\(name)' in \(path) has shape \(actual) but config.json implies \(expected); check that config.json matches the weights"
        case let .malformedIndex(path, reason):
            "\(path) is not a valid safetensors index: \(reason)"
        case let .noWeights(directory):
            "no model.safetensors or model.safetensors.index.json in \(directory); only safetensors checkpoints are supported (convert pytorch_model.bin with transformers' save_pretrained(safe_serialization=True))"
        case let .unsupportedPrecision(precision):
            "\(precision.rawValue) precision is not supported on this processor (oneDNN's bf16 matmul needs AVX-512); use fp32"
        }
    }
}
