/// MMRet: BGE-VL (MMRet-CLIP) multimodal embeddings in Swift.
public enum MMRet {
    public static let version = "0.1.0"
}
