import Foundation

/// The tensors of a checkpoint directory: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json` (Hugging Face's layout for large checkpoints).
public struct WeightStore: Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    /// Every tensor in the checkpoint and the file that contains it.
    private let locations: [String: SafetensorsFile]

    /// Opens the weights in `directory`, preferring the single file when both exist.
    public init(directory: URL) throws(WeightsError) {
        let fileManager = FileManager.default
        let single = directory.appendingPathComponent(Self.singleFileName)
        let index = directory.appendingPathComponent(Self.indexFileName)
        if fileManager.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(url: single)
            locations = file.tensors.mapValues { _ in file }
        } else if fileManager.fileExists(atPath: index.path) {
            locations = try Self.openShards(index: index, directory: directory)
        } else {
            throw .noWeights(directory: directory.path)
        }
    }

    private static func openShards(index: URL, directory: URL) throws(WeightsError) -> [String: SafetensorsFile] {
        let data: Data
        do {
            data = try Data(contentsOf: index)
        } catch {
            throw .unreadableFile(path: index.path, reason: error.localizedDescription)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .malformedIndex(path: index.path, reason: "not a JSON object")
        }
        guard let weightMap = object["weight_map"] as? [String: Any] else {
            throw .malformedIndex(path: index.path, reason: "no \"weight_map\" object")
        }

        var shards: [String: SafetensorsFile] = [:]
        var locations: [String: SafetensorsFile] = [:]
        for (name, value) in weightMap.sorted(by: { $0.key < $1.key }) {
            guard let shardName = value as? String else {
                throw .malformedIndex(path: index.path, reason: "weight_map entry '\(name)' is not a file name")
            }
            // Shards live next to the index; a path could point anywhere on the machine.
            guard !shardName.isEmpty, !shardName.contains("/"), shardName != "..", shardName != "." else {
                throw .malformedIndex(path: index.path, reason: "shard name '\(shardName)' for '\(name)' must be a plain file name in the same folder")
            }
            if shards[shardName] == nil {
                shards[shardName] = try SafetensorsFile(url: directory.appendingPathComponent(shardName))
            }
            guard let shard = shards[shardName], shard.tensors[name] != nil else {
                throw .malformedIndex(path: index.path, reason: "weight_map puts '\(name)' in \(shardName), which has no such tensor")
            }
            locations[name] = shard
        }
        for (shardName, shard) in shards {
            for name in shard.tensors.keys where locations[name] == nil {
                throw .malformedIndex(path: index.path, reason: "\(shardName) contains '\(name)', which weight_map does not list")
            }
        }
        return locations
    }

    public var tensorNames: [String] { locations.keys.sorted() }

    public func info(_ name: String) -> TensorInfo? {
        locations[name]?.tensors[name]
    }

    /// Returns the path of the file that contains `name`, for error messages.
    public func path(of name: String) -> String {
        locations[name]?.url.path ?? "the checkpoint"
    }

    /// Returns the tensor's values as Float after checking that its shape is `shape`.
    public func floats(_ name: String, shape: [Int]) throws(WeightsError) -> [Float] {
        guard let file = locations[name], let info = file.tensors[name] else {
            throw .missingTensor(name: name, expectedShape: shape)
        }
        guard info.shape == shape else {
            throw .shapeMismatch(name: name, expected: shape, actual: info.shape, path: file.url.path)
        }
        return try file.floats(name)
    }
}
