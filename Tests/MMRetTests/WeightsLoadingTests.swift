import Foundation
import Testing
@testable import MMRet

/// Strict checkpoint loading: corrupted copies of a fixture checkpoint, made in the test,
/// must fail with an error that names the file or tensor, never crash.
struct WeightsLoadingTests {
    let source = TestFixtures.model("eos-pooling")

    /// Copies the fixture checkpoint into a fresh directory and returns its path.
    func copyOfCheckpoint() throws -> URL {
        let directory = try TestFixtures.temporaryDirectory()
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    /// Rewrites the JSON header of `file` in place with `edit`, keeping the data section.
    func editHeader(of file: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: file)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        var header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< 8 + headerLength)) as? [String: Any])
        edit(&header)
        let newHeader = try JSONSerialization.data(withJSONObject: header)
        var output = Data()
        withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(newHeader)
        output.append(data.subdata(in: 8 + headerLength ..< data.count))
        try output.write(to: file)
    }

    func loadError(_ directory: URL) -> (any Error)? {
        do {
            _ = try CLIPModel(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingTensorIsNamed() throws {
        let directory = try copyOfCheckpoint()
        try editHeader(of: directory.appendingPathComponent("model.safetensors")) { header in
            header["vision_model.encoder.layers.1.mlp.fc2.bias"] = nil
        }
        let error = loadError(directory) as? WeightsError
        #expect(error == .missingTensor(name: "vision_model.encoder.layers.1.mlp.fc2.bias", expectedShape: [24]))
        #expect(error?.description.contains("vision_model.encoder.layers.1.mlp.fc2.bias") == true)
    }

    @Test func unexpectedTensorIsNamed() throws {
        let directory = try copyOfCheckpoint()
        let file = directory.appendingPathComponent("model.safetensors")
        try editHeader(of: file) { header in
            header["text_model.encoder.layers.7.mlp.fc1.bias"] = header["text_model.encoder.layers.0.mlp.fc1.bias"]
        }
        #expect(loadError(directory) as? WeightsError == .unexpectedTensor(name: "text_model.encoder.layers.7.mlp.fc1.bias", path: file.path))
    }

    @Test func hugeLayerIndexIsUnexpected() throws {
        let directory = try copyOfCheckpoint()
        let file = directory.appendingPathComponent("model.safetensors")
        let name = "text_model.encoder.layers.9223372036854775807.mlp.fc1.bias"
        try editHeader(of: file) { header in
            header[name] = header["text_model.encoder.layers.0.mlp.fc1.bias"]
        }
        #expect(loadError(directory) as? WeightsError == .unexpectedTensor(name: name, path: file.path))
    }

    @Test func ignoredBuffersLoad() throws {
        let directory = try copyOfCheckpoint()
        try editHeader(of: directory.appendingPathComponent("model.safetensors")) { header in
            header["text_model.embeddings.position_ids"] = ["dtype": "I64", "shape": [1, 0], "data_offsets": [0, 0]]
        }
        #expect(loadError(directory) == nil)
    }

    @Test func wrongShapeNamesBothShapes() throws {
        let directory = try copyOfCheckpoint()
        let file = directory.appendingPathComponent("model.safetensors")
        try editHeader(of: file) { header in
            var entry = header["text_model.encoder.layers.0.mlp.fc1.weight"] as! [String: Any]
            entry["shape"] = [32, 48]  // transposed: same byte count, wrong layout
            header["text_model.encoder.layers.0.mlp.fc1.weight"] = entry
        }
        let error = loadError(directory) as? WeightsError
        #expect(error == .shapeMismatch(name: "text_model.encoder.layers.0.mlp.fc1.weight", expected: [48, 32], actual: [32, 48], path: file.path))
        #expect(error?.description.contains("[32, 48]") == true)
        #expect(error?.description.contains("[48, 32]") == true)
    }

    @Test func configThatDoesNotMatchWeightsFails() throws {
        let directory = try copyOfCheckpoint()
        let configURL = directory.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["projection_dim"] = 20
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let error = loadError(directory) as? WeightsError
        guard case let .shapeMismatch(name, expected, actual, _) = error else {
            Issue.record("expected a shape mismatch, got \(String(describing: error))")
            return
        }
        #expect(name.hasSuffix("projection.weight"))
        #expect(expected[0] == 20)
        #expect(actual[0] == 16)
    }

    @Test func excessiveLayerCountFailsFast() throws {
        let directory = try copyOfCheckpoint()
        let configURL = directory.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        var vision = try #require(config["vision_config"] as? [String: Any])
        vision["num_hidden_layers"] = 1_000_000_000
        config["vision_config"] = vision
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        #expect(loadError(directory) as? WeightsError == .missingTensor(name: "vision_model.encoder.layers.3.layer_norm1.weight", expectedShape: [24]))
    }

    // MARK: - Malformed safetensors files

    func writeFile(_ bytes: [UInt8]) throws -> URL {
        let url = try TestFixtures.temporaryDirectory().appendingPathComponent("model.safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    func headerBytes(length: UInt64, json: String) -> [UInt8] {
        withUnsafeBytes(of: length.littleEndian) { Array($0) } + Array(json.utf8)
    }

    func malformedReason(_ url: URL) -> String? {
        do {
            _ = try SafetensorsFile(url: url)
            return nil
        } catch let WeightsError.malformedHeader(path, reason) {
            #expect(path == url.path)
            return reason
        } catch {
            return "unexpected error \(error)"
        }
    }

    @Test func fileShorterThanHeaderLength() throws {
        let reason = malformedReason(try writeFile([1, 2, 3]))
        #expect(reason?.contains("fewer than the 8-byte header length") == true)
    }

    @Test func headerLengthBeyondFile() throws {
        let reason = malformedReason(try writeFile(headerBytes(length: 1 << 62, json: "{}")))
        #expect(reason?.contains("exceeds the file size") == true)
    }

    @Test func headerThatIsNotJSON() throws {
        let json = "{\"a\": [1, 2"
        let reason = malformedReason(try writeFile(headerBytes(length: UInt64(json.utf8.count), json: json)))
        #expect(reason?.contains("not valid JSON") == true)
    }

    @Test func offsetsPastTheEnd() throws {
        let json = #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#
        let reason = malformedReason(try writeFile(headerBytes(length: UInt64(json.utf8.count), json: json) + [0, 0, 0, 0]))
        #expect(reason?.contains("past its end") == true)
    }

    @Test func offsetsThatDisagreeWithShape() throws {
        let json = #"{"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 8]}}"#
        let reason = malformedReason(try writeFile(headerBytes(length: UInt64(json.utf8.count), json: json) + [UInt8](repeating: 0, count: 8)))
        #expect(reason?.contains("needs 6 bytes") == true)
    }

    @Test func hugeShapeDoesNotOverflow() throws {
        let json = #"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 4]}}"#
        let reason = malformedReason(try writeFile(headerBytes(length: UInt64(json.utf8.count), json: json) + [0, 0, 0, 0]))
        #expect(reason?.contains("impossibly large shape") == true)
    }

    @Test func truncatedCheckpointFails() throws {
        let directory = try copyOfCheckpoint()
        let file = directory.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count - 100).write(to: file)
        let error = loadError(directory) as? WeightsError
        guard case let .malformedHeader(path, reason) = error else {
            Issue.record("expected a malformed header, got \(String(describing: error))")
            return
        }
        #expect(path == file.path)
        #expect(reason.contains("past its end"))
    }

    @Test func unsupportedDTypeIsNamed() throws {
        let json = #"{"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}"#
        let url = try writeFile(headerBytes(length: UInt64(json.utf8.count), json: json) + [UInt8](repeating: 0, count: 8))
        #expect(throws: WeightsError.unsupportedDType(path: url.path, tensor: "w", dtype: "F64")) {
            try SafetensorsFile(url: url)
        }
    }

    /// Random byte edits of a real header either load or fail with a `WeightsError`; a
    /// header that still parses must give readable tensors. A crash fails the whole run.
    @Test func mutatedHeadersNeverCrash() throws {
        let original = [UInt8](try Data(contentsOf: source.appendingPathComponent("model.safetensors")))
        let headerEnd = 8 + Int(original.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        let replacements = Array("0123456789[]{}\",:-. \u{00}eEF".utf8)
        var random = SeededGenerator(seed: 12345)

        let directory = try TestFixtures.temporaryDirectory()
        let url = directory.appendingPathComponent("model.safetensors")
        var loaded = 0
        var rejected = 0
        for _ in 0 ..< 300 {
            var bytes = original
            for _ in 0 ..< 1 + random.next(below: 4) {
                // Mostly the JSON header, sometimes the length field itself.
                let position = random.next(below: 10) == 0 ? random.next(below: 8) : 8 + random.next(below: headerEnd - 8)
                bytes[position] = replacements[random.next(below: replacements.count)]
            }
            try Data(bytes).write(to: url)
            do {
                let file = try SafetensorsFile(url: url)
                for (name, info) in file.tensors where info.dtype != .i64 && info.dtype != .i32 {
                    #expect(try file.floats(name).count == info.elementCount)
                }
                loaded += 1
            } catch {
                // Both calls throw only WeightsError (typed throws), so any other error
                // type cannot reach this point.
                rejected += 1
            }
        }
        // Both branches must be exercised for the test to say anything.
        #expect(loaded > 0)
        #expect(rejected > 0)
    }

    // MARK: - Directories and shards

    @Test func directoryWithoutSafetensors() throws {
        let directory = try TestFixtures.temporaryDirectory()
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: directory.appendingPathComponent("config.json"))
        try Data([0x80, 0x02]).write(to: directory.appendingPathComponent("pytorch_model.bin"))
        let error = loadError(directory)
        #expect(error as? WeightsError == .noWeights(directory: directory.path))
        #expect("\(error!)".contains("pytorch_model.bin"))
    }

    func copyOfShardedCheckpoint() throws -> URL {
        let sharded = TestFixtures.model("eos-pooling-sharded")
        let directory = try TestFixtures.temporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: sharded.path) {
            try FileManager.default.copyItem(at: sharded.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    func editIndex(_ directory: URL, _ edit: (inout [String: String]) -> Void) throws {
        let url = directory.appendingPathComponent("model.safetensors.index.json")
        var index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var weightMap = try #require(index["weight_map"] as? [String: String])
        edit(&weightMap)
        index["weight_map"] = weightMap
        try JSONSerialization.data(withJSONObject: index).write(to: url)
    }

    @Test func shardOutsideTheFolderIsRejected() throws {
        let directory = try copyOfShardedCheckpoint()
        try editIndex(directory) { $0["text_projection.weight"] = "../model.safetensors" }
        guard case let .malformedIndex(_, reason) = loadError(directory) as? WeightsError else {
            Issue.record("expected a malformed index")
            return
        }
        #expect(reason.contains("../model.safetensors"))
    }

    @Test func missingShardFileIsNamed() throws {
        let directory = try copyOfShardedCheckpoint()
        let index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("model.safetensors.index.json"))) as? [String: Any])
        let shard = try #require((index["weight_map"] as? [String: String])?["text_projection.weight"])
        try FileManager.default.removeItem(at: directory.appendingPathComponent(shard))
        guard case let .unreadableFile(path, _) = loadError(directory) as? WeightsError else {
            Issue.record("expected an unreadable file")
            return
        }
        #expect(path.hasSuffix(shard))
    }

    @Test func indexPointingToWrongShardIsRejected() throws {
        let directory = try copyOfShardedCheckpoint()
        var shards: Set<String> = []
        try editIndex(directory) { map in
            shards = Set(map.values)
            let other = shards.sorted().first { $0 != map["text_projection.weight"] }!
            map["text_projection.weight"] = other
        }
        guard case let .malformedIndex(_, reason) = loadError(directory) as? WeightsError else {
            Issue.record("expected a malformed index")
            return
        }
        #expect(reason.contains("text_projection.weight"))
    }

    @Test func shardedAndSingleFileAgree() throws {
        let single = try WeightStore(directory: TestFixtures.model("eos-pooling"))
        let sharded = try WeightStore(directory: TestFixtures.model("eos-pooling-sharded"))
        #expect(single.tensorNames == sharded.tensorNames)
        for name in single.tensorNames where single.info(name)?.dtype == .f32 {
            let shape = try #require(single.info(name)?.shape)
            #expect(try single.floats(name, shape: shape) == sharded.floats(name, shape: shape), "\(name)")
        }
    }
}

/// A linear congruential generator, so that the mutation test repeats exactly.
struct SeededGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next(below bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
}
