/// The image tower of transformers' `CLIPModel` up to the pooled class token, plus
/// `visual_projection`: `get_image_features`.
struct CLIPVisionTransformer: Sendable {
    let config: CLIPVisionConfig
    let classEmbedding: [Float]
    /// The patch convolution's kernel flattened to `[width, channels * patch * patch]`, so
    /// that the convolution (stride = kernel size) is one GEMM over unfolded patches.
    let patchEmbedding: Matrix
    let positionEmbedding: Matrix
    let preLayerNorm: LayerNormWeights
    let encoder: TransformerEncoder
    let postLayerNorm: LayerNormWeights
    let projection: Matrix

    init(reader: WeightReader, config: CLIPVisionConfig, layout: WeightLayout) throws(WeightsError) {
        self.config = config
        classEmbedding = try reader.vector("vision_model.embeddings.class_embedding")
        patchEmbedding = try reader.matrix("vision_model.embeddings.patch_embedding.weight")
        positionEmbedding = try reader.matrix("vision_model.embeddings.position_embedding.weight")
        preLayerNorm = try reader.layerNorm("vision_model.pre_layrnorm", eps: config.layerNormEps)
        encoder = try TransformerEncoder(
            reader: reader, tower: "vision_model", layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads, activation: config.hiddenAct, eps: config.layerNormEps,
            layout: layout
        )
        postLayerNorm = try reader.layerNorm("vision_model.post_layernorm", eps: config.layerNormEps)
        projection = try reader.matrix("visual_projection.weight")
    }

    /// Floats in one image's pixel values: channels × image_size × image_size.
    var valuesPerImage: Int { config.numChannels * config.imageSize * config.imageSize }

    /// Projected image features, `[images, projection_dim]`, not normalised.
    /// `pixelValues` is `[images, channels, image_size, image_size]`, as CLIPImageProcessor
    /// returns it.
    func features(pixelValues: [Float], context: ComputeContext) throws(ModelInputError) -> Matrix {
        guard pixelValues.count % valuesPerImage == 0 else {
            throw .pixelCountMismatch(expected: valuesPerImage, actual: pixelValues.count, imageSize: config.imageSize, channels: config.numChannels)
        }
        let images = pixelValues.count / valuesPerImage
        let perImage = valuesPerImage
        return context.stackingShards(of: images) { shard, shardContext in
            computeFeatures(pixelValues: Array(pixelValues[shard.lowerBound * perImage ..< shard.upperBound * perImage]), images: shard.count, context: shardContext)
        }
    }

    /// Computes the features of `images` images whose pixel values have the right size.
    private func computeFeatures(pixelValues: [Float], images: Int, context: ComputeContext) -> Matrix {
        let sequence = config.sequenceLength
        let width = config.hiddenSize

        // Class token and patch embeddings; the patches of image i fill rows
        // i * sequence + 1 ... i * sequence + patches.
        let patches = unfoldPatches(pixelValues, images: images)
        var embeddings = Matrix(rows: images * sequence, columns: width)
        patches.values.withUnsafeBufferPointer { patchBuffer in
            patchEmbedding.values.withUnsafeBufferPointer { kernel in
                embeddings.values.withUnsafeMutableBufferPointer { output in
                    for image in 0 ..< images {
                        (output.baseAddress! + image * sequence * width).update(from: classEmbedding, count: width)
                        context.multiplyRows(
                            transposeB: true, m: sequence - 1, n: width, k: patches.columns,
                            a: patchBuffer.baseAddress! + image * (sequence - 1) * patches.columns, lda: patches.columns,
                            b: kernel.baseAddress!, ldb: patches.columns,
                            beta: 0, c: output.baseAddress! + (image * sequence + 1) * width, ldc: width
                        )
                    }
                }
            }
        }
        for row in 0 ..< embeddings.rows {
            let position = row % sequence
            for column in 0 ..< width {
                embeddings.values[row * width + column] += positionEmbedding.values[position * width + column]
            }
        }

        var hidden = context.layerNorm(embeddings, preLayerNorm)
        encoder(&hidden, shape: AttentionShape(batch: images, sequence: sequence), mask: .none, context: context)

        var classTokens = Matrix(rows: images, columns: width)
        for image in 0 ..< images {
            let source = image * sequence
            classTokens.values.replaceSubrange(image * width ..< (image + 1) * width, with: hidden.values[source * width ..< (source + 1) * width])
        }
        let pooled = context.layerNorm(classTokens, postLayerNorm)
        return context.linear(pooled, weight: projection, bias: [])
    }

    /// Rearranges `[images, channels, size, size]` into one row per patch,
    /// `[images * patches, channels * patch * patch]`, in the order of the convolution
    /// kernel's flattened `[channels, patch, patch]` axes. Patches run row by row.
    private func unfoldPatches(_ pixelValues: [Float], images: Int) -> Matrix {
        let patch = config.patchSize
        let side = config.patchesPerSide
        let size = config.imageSize
        let channels = config.numChannels
        var patches = Matrix(rows: images * side * side, columns: channels * patch * patch)
        pixelValues.withUnsafeBufferPointer { source in
            patches.values.withUnsafeMutableBufferPointer { destination in
                var output = destination.baseAddress!
                for image in 0 ..< images {
                    let imageBase = source.baseAddress! + image * channels * size * size
                    for patchRow in 0 ..< side {
                        for patchColumn in 0 ..< side {
                            for channel in 0 ..< channels {
                                for y in 0 ..< patch {
                                    let line = imageBase + (channel * size + patchRow * patch + y) * size + patchColumn * patch
                                    output.update(from: line, count: patch)
                                    output += patch
                                }
                            }
                        }
                    }
                }
            }
        }
        return patches
    }
}
