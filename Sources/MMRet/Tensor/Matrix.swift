/// A dense row-major matrix of `Float`, the one storage type the model's kernels use.
///
/// A batch of sequences is a matrix with one row per token: `[batch * sequence, width]`.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// `rows * columns` values, row after row.
    public var values: [Float]

    /// Creates a matrix of zeros.
    public init(rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0, "matrix dimensions must not be negative")
        self.rows = rows
        self.columns = columns
        self.values = [Float](repeating: 0, count: rows * columns)
    }

    /// A matrix over existing values; `values.count` must be `rows * columns`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "matrix of \(rows)x\(columns) needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// Returns the values of one row as a new array.
    public func row(_ index: Int) -> [Float] {
        Array(values[index * columns ..< (index + 1) * columns])
    }
}
