import Foundation
import Testing
@testable import MMRet

/// bf16 precision against the fp32 features that transformers computed for each fixture
/// variant: cosine similarity of at least 0.999 per row, the reduced-precision bound of
/// this package.
struct BF16ModelTests {
    static let minimumCosine: Float = 0.999

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let norms = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
        return dot / norms
    }

    static func expectCosine(_ actual: Matrix, _ expected: Matrix, label: String) {
        #expect(actual.rows == expected.rows, "\(label): \(actual.rows) rows vs \(expected.rows)")
        #expect(actual.columns == expected.columns, "\(label): \(actual.columns) columns vs \(expected.columns)")
        guard actual.rows == expected.rows, actual.columns == expected.columns else { return }
        for row in 0 ..< actual.rows {
            let similarity = cosine(actual.row(row), expected.row(row))
            #expect(similarity >= minimumCosine, "\(label) row \(row): cosine \(similarity)")
        }
    }

    @Test(arguments: ModelParityTests.variants)
    func bf16FeaturesMatchFP32Reference(variant: String) throws {
        let model = try CLIPModel(directory: TestFixtures.model(variant), precision: .bf16)
        let reference = try ModelParityTests.Reference(variant)
        for threads in [1, 2] {
            let context = ComputeContext(threadCount: threads)
            let text = try model.textFeatures(reference.tokens, context: context)
            let image = try model.imageFeatures(pixelValues: reference.pixelValues, context: context)
            Self.expectCosine(text, reference.textFeatures, label: "\(variant) text, \(threads) threads")
            Self.expectCosine(image, reference.imageFeatures, label: "\(variant) image, \(threads) threads")
        }
    }

    /// bf16 must differ from fp32 at all; otherwise the test above would pass on a model
    /// that ignored the precision.
    @Test func bf16DiffersFromFP32() throws {
        let directory = TestFixtures.model("legacy-pooling")
        let reference = try ModelParityTests.Reference("legacy-pooling")
        let fp32 = try CLIPModel(directory: directory)
        let bf16 = try CLIPModel(directory: directory, precision: .bf16)
        #expect(bf16.precision == .bf16)
        let context = ComputeContext()
        let fp32Image = try fp32.imageFeatures(pixelValues: reference.pixelValues, context: context)
        let bf16Image = try bf16.imageFeatures(pixelValues: reference.pixelValues, context: context)
        let difference = zip(fp32Image.values, bf16Image.values).map { abs($0 - $1) }.max() ?? 0
        #expect(difference > 1e-5, "bf16 image features equal fp32 ones to \(difference)")
    }
}
