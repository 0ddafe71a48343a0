import Dispatch
import Foundation

/// Decodes and preprocesses one batch of images in the background, so the encoder can run
/// the model on the previous batch meanwhile.
///
/// `start` returns at once; `wait` blocks until every image of the batch is done. Each
/// image writes only its own slice of `pixels` and its own entry of `errors`, and `wait`
/// reads them only after all workers have signalled, so the class needs no lock.
final class ImageBatchLoader: @unchecked Sendable {
    let range: Range<Int>
    private(set) var pixels: [Float]
    /// Nil for an image that was preprocessed, the error for one that failed.
    private(set) var errors: [EncoderError?]
    private let finished = DispatchSemaphore(value: 0)
    private var isFinished = false

    private init(range: Range<Int>, valuesPerImage: Int) {
        self.range = range
        pixels = [Float](repeating: 0, count: range.count * valuesPerImage)
        errors = [EncoderError?](repeating: nil, count: range.count)
    }

    /// Starts preprocessing the images `ids[range]` on `workers` threads.
    static func start(
        range: Range<Int>,
        ids: [String],
        preprocessor: ImagePreprocessor,
        workers: Int,
        locate: @escaping @Sendable (String, Int) throws(EncoderError) -> URL
    ) -> ImageBatchLoader {
        let batch = ImageBatchLoader(range: range, valuesPerImage: preprocessor.valuesPerImage)
        let batchIDs = Array(ids[range])
        let threads = max(1, min(workers, range.count))
        DispatchQueue.global().async {
            batch.fill(ids: batchIDs, preprocessor: preprocessor, threads: threads, locate: locate)
            batch.finished.signal()
        }
        return batch
    }

    private func fill(
        ids: [String], preprocessor: ImagePreprocessor, threads: Int,
        locate: @Sendable (String, Int) throws(EncoderError) -> URL
    ) {
        let valuesPerImage = preprocessor.valuesPerImage
        let firstIndex = range.lowerBound
        pixels.withUnsafeMutableBufferPointer { pixelBuffer in
            errors.withUnsafeMutableBufferPointer { errorBuffer in
                let buffers = UncheckedSendable((pixelBuffer, errorBuffer))
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    let (pixelBuffer, errorBuffer) = buffers.value
                    // Threads take interleaved images, so a slow image does not hold back a
                    // whole contiguous block.
                    for offset in stride(from: thread, to: ids.count, by: threads) {
                        let index = firstIndex + offset
                        let destination = UnsafeMutableBufferPointer(
                            rebasing: pixelBuffer[offset * valuesPerImage ..< (offset + 1) * valuesPerImage]
                        )
                        do throws(EncoderError) {
                            let url = try locate(ids[offset], index)
                            do throws(ImageError) {
                                try preprocessor.preprocess(fileAt: url, into: destination)
                            } catch {
                                throw EncoderError.invalidImage(index: index, id: ids[offset], reason: error.description)
                            }
                        } catch {
                            errorBuffer[offset] = error
                        }
                    }
                }
            }
        }
    }

    /// Blocks until the batch is done, then returns it. Safe to call more than once.
    func wait() -> ImageBatchLoader {
        if !isFinished {
            finished.wait()
            isFinished = true
        }
        return self
    }

    /// Returns the pixel values of `inputs` (absolute input indices, in order), packed.
    func pixelValues(keeping inputs: [Int], valuesPerImage: Int) -> [Float] {
        if inputs.count == range.count {
            return pixels
        }
        var packed: [Float] = []
        packed.reserveCapacity(inputs.count * valuesPerImage)
        for index in inputs {
            let offset = index - range.lowerBound
            packed.append(contentsOf: pixels[offset * valuesPerImage ..< (offset + 1) * valuesPerImage])
        }
        return packed
    }
}
