/// A tokenizer directory that cannot be loaded. Each case names the file, and where it
/// applies the JSON key, so that the message points at what to fix.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The directory has neither tokenizer.json nor both vocab.json and merges.txt.
    case missingFiles(directory: String)
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid JSON (or, for merges.txt, not one merge per line).
    case invalidFile(path: String, reason: String)
    /// A key is missing or has a value of the wrong type or range.
    case invalidValue(path: String, key: String, reason: String)
    /// The file requests a tokenizer component or option that this package does not implement.
    case unsupportedComponent(path: String, component: String, found: String, supported: String)

    public var description: String {
        switch self {
        case .missingFiles(let directory):
            return "no tokenizer files in \(directory): expected tokenizer.json, or vocab.json and merges.txt "
                + "(as in the openai/clip-vit-base-patch16 repository)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidFile(let path, let reason):
            return "invalid tokenizer file \(path): \(reason)"
        case .invalidValue(let path, let key, let reason):
            return "invalid value for '\(key)' in \(path): \(reason)"
        case .unsupportedComponent(let path, let component, let found, let supported):
            return "unsupported \(component) in \(path): found \(found); this tokenizer supports \(supported). "
                + "Use the tokenizer files of a CLIP checkpoint such as openai/clip-vit-base-patch16"
        }
    }
}
