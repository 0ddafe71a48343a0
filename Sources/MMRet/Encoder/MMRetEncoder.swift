import Foundation
import Synchronization

/// One batch of results: the embeddings and, for each row, the index of the input it came from.
/// Indices skip the inputs that `InvalidInputHandling.skip` dropped.
public struct EncodedBatch: Sendable {
    public let embeddings: Embeddings
    public let inputIndices: [Int]
}

/// The encoder's handling of an image that is missing or cannot be decoded.
public enum InvalidInputHandling: Sendable {
    /// Throw the error, ending the run.
    case stop
    /// Leave the input out of the results and pass its error to the handler.
    case skip(@Sendable (EncoderError) -> Void)
}

/// Embeds texts, images and composed image+text queries into one vector space, as the
/// BGE-VL (MMRet) reference encoder does.
///
/// Text goes through the CLIP tokenizer and the text tower, image files through the image
/// preprocessor and the vision tower. A composed query is `normalize(text_features +
/// image_features)`: the raw projected features of its caption and its reference image,
/// summed, then normalised once. Text and image embeddings are normalised when
/// `options.normalized` is on.
///
/// An encoder has no mutable state that calls share, so one instance can serve several
/// tasks at once; each call still uses `options.threadCount` threads.
public final class MMRetEncoder: Sendable {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let options: EncoderOptions
    /// Nil when the model directory has no `preprocessor_config.json`; text still works.
    let imagePreprocessor: ImagePreprocessor?
    let context: ComputeContext
    let modelDirectory: URL
    private let warnedAboutJPEGSuffix = Mutex(false)

    /// The length of every embedding.
    public var dimension: Int { model.config.projectionDim }

    /// Loads the model, tokenizer and image preprocessor files from a Hugging Face snapshot
    /// directory.
    public init(modelDirectory: URL, options: EncoderOptions = EncoderOptions()) throws {
        guard options.batchSize >= 1 else {
            throw EncoderError.invalidOption("the batch size must be at least 1, got \(options.batchSize)")
        }
        model = try CLIPModel(directory: modelDirectory, precision: options.precision)
        tokenizer = try CLIPTokenizer(directory: modelDirectory)
        let positions = model.config.text.maxPositionEmbeddings
        for (name, length) in [("text", options.textMaxLength), ("composed caption", options.composedTextMaxLength)] {
            guard length >= tokenizer.specialTokenCount, length <= positions else {
                throw EncoderError.invalidOption(
                    "the \(name) token limit must be from \(tokenizer.specialTokenCount) to the model's max_position_embeddings \(positions), got \(length)"
                )
            }
        }

        let preprocessorFile = modelDirectory.appendingPathComponent("preprocessor_config.json")
        if FileManager.default.fileExists(atPath: preprocessorFile.path) {
            let preprocessor = try ImagePreprocessor(modelDirectory: modelDirectory, options: options.imageDecoding)
            let size = model.config.vision.imageSize
            guard preprocessor.height == size, preprocessor.width == size else {
                throw EncoderError.invalidOption(
                    "\(preprocessorFile.path) makes \(preprocessor.width)×\(preprocessor.height) images, but the vision model takes \(size)×\(size)"
                )
            }
            imagePreprocessor = preprocessor
        } else {
            imagePreprocessor = nil
        }
        self.options = options
        self.modelDirectory = modelDirectory
        context = ComputeContext(threadCount: options.threadCount)
    }

    // MARK: Whole results

    /// Embeds each text, truncated to `options.textMaxLength` tokens.
    public func encodeText(_ texts: [String]) throws -> Embeddings {
        try collect(type: .text, texts: texts)
    }

    /// Embeds one text.
    public func encodeText(_ text: String) throws -> [Float] {
        try encodeText([text]).row(0)
    }

    /// Embeds each image; ids are paths relative to `options.imageDirectory`.
    public func encodeImages(_ imageIDs: [String]) throws -> Embeddings {
        try collect(type: .image, imageIDs: imageIDs)
    }

    /// Embeds one image.
    public func encodeImage(_ imageID: String) throws -> [Float] {
        try encodeImages([imageID]).row(0)
    }

    /// Embeds composed queries: caption `i` modifies image `i`.
    public func encodeComposed(captions: [String], imageIDs: [String]) throws -> Embeddings {
        try collect(type: .composed, texts: captions, imageIDs: imageIDs)
    }

    /// Embeds one composed query.
    public func encodeComposed(caption: String, imageID: String) throws -> [Float] {
        try encodeComposed(captions: [caption], imageIDs: [imageID]).row(0)
    }

    /// Embeds queries of `type`: `texts` for text, `images` for image, both for `mm_it`.
    public func encodeQueries(texts: [String]? = nil, images: [String]? = nil, type: EncodingType) throws -> Embeddings {
        try dispatch(texts: texts, images: images, type: type)
    }

    /// Embeds a corpus of `type`; a corpus is encoded exactly like queries of the same type.
    public func encodeCorpus(texts: [String]? = nil, images: [String]? = nil, type: EncodingType) throws -> Embeddings {
        try dispatch(texts: texts, images: images, type: type)
    }

    private func dispatch(texts: [String]?, images: [String]?, type: EncodingType) throws -> Embeddings {
        switch type {
        case .text:
            guard let texts else { throw EncoderError.missingInputs(type: type, field: "text") }
            return try encodeText(texts)
        case .image:
            guard let images else { throw EncoderError.missingInputs(type: type, field: "image") }
            return try encodeImages(images)
        case .composed:
            guard let texts else { throw EncoderError.missingInputs(type: type, field: "text") }
            guard let images else { throw EncoderError.missingInputs(type: type, field: "image") }
            return try encodeComposed(captions: texts, imageIDs: images)
        }
    }

    private func collect(type: EncodingType, texts: [String] = [], imageIDs: [String] = []) throws -> Embeddings {
        var result = Embeddings(dimension: dimension)
        try encode(type: type, texts: texts, imageIDs: imageIDs) { batch in
            result.append(batch.embeddings)
        }
        return result
    }

    // MARK: Streaming

    /// Embeds the inputs of `type` batch by batch, passing each batch to `consume` in input
    /// order, so a corpus of any length is encoded in bounded memory.
    ///
    /// `texts` contains the texts (type text) or captions (type mm_it), `imageIDs` the images
    /// (types image and mm_it). While the model runs on one batch of images, the next batch
    /// is decoded and preprocessed on another thread. `progress` receives the number of
    /// inputs finished so far, skipped ones included.
    public func encode(
        type: EncodingType,
        texts: [String] = [],
        imageIDs: [String] = [],
        invalidInputs: InvalidInputHandling = .stop,
        progress: ((Int) -> Void)? = nil,
        consume: (EncodedBatch) throws -> Void
    ) throws {
        if type == .composed, texts.count != imageIDs.count {
            throw EncoderError.countMismatch(captions: texts.count, images: imageIDs.count)
        }
        let count = type == .text ? texts.count : imageIDs.count
        let batchSize = options.batchSize
        let batches = stride(from: 0, to: count, by: batchSize).map { $0 ..< min($0 + batchSize, count) }

        if type == .text {
            for range in batches {
                var embeddings = Embeddings(try textFeatures(Array(texts[range]), maxLength: options.textMaxLength))
                if options.normalized {
                    embeddings.normalizeRows()
                }
                try consume(EncodedBatch(embeddings: embeddings, inputIndices: Array(range)))
                progress?(range.upperBound)
            }
            return
        }

        guard let imagePreprocessor else {
            throw EncoderError.invalidOption(
                "\(modelDirectory.path) has no preprocessor_config.json, so it cannot encode images; copy it from the model's original snapshot"
            )
        }
        guard let first = batches.first else { return }

        // Each batch is decoded on as many threads as the model uses. Later batches are
        // decoded while the model runs, and spreading that work over every core slows the
        // model's shards evenly, so none of them waits idle for a slower one.
        var pending = ImageBatchLoader.start(
            range: first, ids: imageIDs, preprocessor: imagePreprocessor, workers: context.threadCount, locate: locateImage
        )
        // Whichever way the loop ends, including a throw from the model or from `consume`,
        // the batch being decoded finishes first, so no decoding thread outlives the call.
        defer { _ = pending.wait() }
        for (number, range) in batches.enumerated() {
            let loaded = pending.wait()
            if number + 1 < batches.count {
                pending = ImageBatchLoader.start(
                    range: batches[number + 1], ids: imageIDs, preprocessor: imagePreprocessor, workers: context.threadCount, locate: locateImage
                )
            }

            var decodedInputs: [Int] = []
            for (offset, error) in loaded.errors.enumerated() {
                guard let error else {
                    decodedInputs.append(range.lowerBound + offset)
                    continue
                }
                switch invalidInputs {
                case .stop:
                    throw error
                case .skip(let report):
                    report(error)
                }
            }

            if !decodedInputs.isEmpty {
                let pixels = loaded.pixelValues(keeping: decodedInputs, valuesPerImage: imagePreprocessor.valuesPerImage)
                var features = try model.imageFeatures(pixelValues: pixels, context: context)
                if type == .composed {
                    let captions = decodedInputs.map { texts[$0] }
                    let textFeatures = try textFeatures(captions, maxLength: options.composedTextMaxLength)
                    for index in features.values.indices {
                        features.values[index] += textFeatures.values[index]
                    }
                }
                var embeddings = Embeddings(features)
                if options.normalized || type == .composed {
                    embeddings.normalizeRows()
                }
                try consume(EncodedBatch(embeddings: embeddings, inputIndices: decodedInputs))
            }
            progress?(range.upperBound)
        }
    }

    private func textFeatures(_ texts: [String], maxLength: Int) throws -> Matrix {
        let ids = tokenizer.encodeBatch(texts, maxLength: maxLength, threadCount: context.threadCount).ids
        // Padding positions are masked, and the tokenizer ends every text with its end
        // token before any padding, so either pooling rule finds the real end of the text.
        return try model.textFeatures(TokenBatch(sequences: ids, paddingID: 0), context: context)
    }

    /// Returns the file of image `id`. An id without an extension whose file does not exist
    /// is tried with ".jpg", as the reference encoder does, with one warning per encoder.
    private func locateImage(_ id: String, index: Int) throws(EncoderError) -> URL {
        let url: URL
        if let directory = options.imageDirectory, !id.hasPrefix("/") {
            url = directory.appendingPathComponent(id)
        } else {
            url = URL(fileURLWithPath: id)
        }
        if FileManager.default.fileExists(atPath: url.path) {
            return url
        }
        if url.pathExtension.isEmpty {
            let withSuffix = url.appendingPathExtension("jpg")
            if FileManager.default.fileExists(atPath: withSuffix.path) {
                let isFirst = warnedAboutJPEGSuffix.withLock { warned in
                    defer { warned = true }
                    return !warned
                }
                if isFirst {
                    options.warningHandler("image id '\(id)' has no extension; reading \(withSuffix.path) (the reference encoder appends .jpg too)")
                }
                return withSuffix
            }
        }
        throw .missingImage(index: index, id: id, path: url.path)
    }
}
