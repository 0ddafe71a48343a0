/// Reads the weights of a `CLIPModel` from a store, checking each shape against the table
/// in `CLIPWeightNames`.
struct WeightReader: Sendable {
    let store: WeightStore
    let table: [String: [Int]]

    /// Checks the checkpoint against the table before anything is converted: a tensor the
    /// table lacks (other than the ignored buffers), then a missing one, then a wrong shape.
    init(store: WeightStore, config: CLIPConfig) throws(WeightsError) {
        self.store = store
        try Self.checkLayerCounts(store: store, config: config)
        table = CLIPWeightNames.all(config)

        for name in store.tensorNames where table[name] == nil && !CLIPWeightNames.ignoredTensors.contains(name) {
            throw .unexpectedTensor(name: name, path: store.path(of: name))
        }
        for (name, shape) in table.sorted(by: { $0.key < $1.key }) {
            guard let info = store.info(name) else {
                throw .missingTensor(name: name, expectedShape: shape)
            }
            guard info.shape == shape else {
                throw .shapeMismatch(name: name, expected: shape, actual: info.shape, path: store.path(of: name))
            }
        }
    }

    /// Rejects a config that names more layers than the checkpoint has, before the table
    /// of every layer's tensors is built: a corrupted `num_hidden_layers` of a billion would
    /// otherwise cost minutes and gigabytes before the first missing tensor is reported.
    private static func checkLayerCounts(store: WeightStore, config: CLIPConfig) throws(WeightsError) {
        let towers = [
            ("text_model", config.text.numHiddenLayers, config.text.hiddenSize),
            ("vision_model", config.vision.numHiddenLayers, config.vision.hiddenSize),
        ]
        for (tower, layerCount, width) in towers {
            let prefix = CLIPWeightNames.layersPrefix(tower: tower)
            var storedLayers = 0
            for name in store.tensorNames where name.hasPrefix(prefix) {
                // Config integers stop at Int32.max, so a larger index can never be
                // needed; skipping it also keeps `index + 1` from overflowing.
                if let index = Int(name.dropFirst(prefix.count).prefix { $0 != "." }), index < Int(Int32.max) {
                    storedLayers = max(storedLayers, index + 1)
                }
            }
            if layerCount > storedLayers {
                let missing = CLIPWeightNames.layerPrefix(tower: tower, index: storedLayers) + "layer_norm1.weight"
                throw .missingTensor(name: missing, expectedShape: [width])
            }
        }
    }

    func vector(_ name: String) throws(WeightsError) -> [Float] {
        try store.floats(name, shape: shape(name))
    }

    /// Returns a tensor flattened to a matrix of `shape[0]` rows. An nn.Linear weight is
    /// `[out, in]`, and a convolution kernel becomes `[out, in * height * width]`.
    func matrix(_ name: String) throws(WeightsError) -> Matrix {
        let shape = shape(name)
        let values = try store.floats(name, shape: shape)
        let rows = shape.first ?? 1
        return Matrix(rows: rows, columns: rows == 0 ? 0 : values.count / rows, values: values)
    }

    func linear(_ prefix: String) throws(WeightsError) -> LinearWeights {
        LinearWeights(weight: try matrix(prefix + ".weight"), bias: try vector(prefix + ".bias"))
    }

    func layerNorm(_ prefix: String, eps: Float) throws(WeightsError) -> LayerNormWeights {
        LayerNormWeights(weight: try vector(prefix + ".weight"), bias: try vector(prefix + ".bias"), eps: eps)
    }

    private func shape(_ name: String) -> [Int] {
        // Every name read here comes from the table that `init` checked the store against.
        guard let shape = table[name] else {
            preconditionFailure("tensor \(name) is not in the CLIPModel weight table")
        }
        return shape
    }
}
