import Foundation

/// A float32 matrix of embeddings: one row per input, `dimension` values per row, in C order.
public struct Embeddings: Sendable, Equatable {
    public private(set) var rows: Int
    public let dimension: Int
    /// Row-major values, `rows * dimension` of them.
    public private(set) var values: [Float]

    /// - Precondition: `values.count == rows * dimension`.
    public init(rows: Int, dimension: Int, values: [Float]) {
        precondition(values.count == rows * dimension, "\(values.count) values cannot fill \(rows) × \(dimension)")
        self.rows = rows
        self.dimension = dimension
        self.values = values
    }

    /// Creates an empty matrix whose rows would have `dimension` values.
    public init(dimension: Int) {
        self.init(rows: 0, dimension: dimension, values: [])
    }

    init(_ matrix: Matrix) {
        self.init(rows: matrix.rows, dimension: matrix.columns, values: matrix.values)
    }

    /// Reads a float32 `rows × dimension` array written by `write(npyTo:)` or `numpy.save`.
    public init(npyAt url: URL) throws(NPYError) {
        let (shape, values) = try NPY.readFloat32(at: url)
        guard shape.count == 2 else {
            throw .unsupportedArray(path: url.path, reason: "expected a 2-D array of embeddings, found shape \(shape)")
        }
        self.init(rows: shape[0], dimension: shape[1], values: values)
    }

    /// Returns the values of row `index`.
    public subscript(index: Int) -> ArraySlice<Float> {
        values[index * dimension ..< (index + 1) * dimension]
    }

    public func row(_ index: Int) -> [Float] {
        Array(self[index])
    }

    /// Writes the matrix as a float32 `.npy` file of shape `(rows, dimension)`, atomically.
    public func write(npyTo url: URL) throws(NPYError) {
        try NPY.write(values, shape: [rows, dimension], to: url)
    }

    /// Appends the rows of `other`, which must have the same dimension.
    public mutating func append(_ other: Embeddings) {
        precondition(other.dimension == dimension, "cannot stack rows of \(other.dimension) values under rows of \(dimension)")
        values.append(contentsOf: other.values)
        rows += other.rows
    }

    /// Scales every row to unit L2 norm, as `torch.nn.functional.normalize` does: the norm is
    /// clamped below at 1e-12, so an all-zero row stays zero instead of becoming NaN.
    public mutating func normalizeRows() {
        let dimension = dimension
        values.withUnsafeMutableBufferPointer { buffer in
            for row in 0 ..< rows {
                let start = row * dimension
                var sum: Double = 0
                for index in start ..< start + dimension {
                    sum += Double(buffer[index]) * Double(buffer[index])
                }
                let scale = Float(1 / max(sum.squareRoot(), 1e-12))
                for index in start ..< start + dimension {
                    buffer[index] *= scale
                }
            }
        }
    }

    /// Returns the rows with unit L2 norm.
    public func normalized() -> Embeddings {
        var copy = self
        copy.normalizeRows()
        return copy
    }
}
