import CKernels
import Foundation

/// The element types a safetensors header can name that this package reads.
public enum TensorDType: String, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case i64 = "I64"
    case i32 = "I32"

    public var byteCount: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .i64: 8
        }
    }
}

/// The location, dtype and shape of one tensor in a safetensors file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Byte range within the file (not within the data section).
    let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte offsets, then the raw little-endian data.
///
/// The header is validated completely when the file is opened, so that a truncated or
/// corrupted file fails there with a message naming it, and the tensor accessors can
/// trust every offset.
public final class SafetensorsFile: Sendable {
    /// Headers larger than this are rejected before any allocation; real checkpoints have
    /// headers of well under a megabyte.
    static let maximumHeaderLength = 100 << 20

    public let url: URL
    public let tensors: [String: TensorInfo]
    let file: MappedFile

    public init(url: URL) throws(WeightsError) {
        self.url = url
        file = try MappedFile(url: url)
        tensors = try Self.parseHeader(file)
    }

    private static func parseHeader(_ file: MappedFile) throws(WeightsError) -> [String: TensorInfo] {
        let path = file.url.path
        guard file.size >= 8 else {
            throw .malformedHeader(path: path, reason: "file has \(file.size) bytes, fewer than the 8-byte header length")
        }
        let lengthField = file.bytes(0 ..< 8).loadUnaligned(as: UInt64.self).littleEndian
        guard lengthField <= UInt64(file.size - 8) else {
            throw .malformedHeader(path: path, reason: "header length \(lengthField) exceeds the file size \(file.size)")
        }
        let headerLength = Int(lengthField)
        guard headerLength <= maximumHeaderLength else {
            throw .malformedHeader(path: path, reason: "header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }

        let headerData = Data(file.bytes(8 ..< 8 + headerLength))
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw .malformedHeader(path: path, reason: "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw .malformedHeader(path: path, reason: "header is not a JSON object")
        }

        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in entries where name != "__metadata__" {
            tensors[name] = try parseEntry(name: name, value: value, dataStart: dataStart, dataSize: dataSize, path: path)
        }
        return tensors
    }

    private static func parseEntry(name: String, value: Any, dataStart: Int, dataSize: Int, path: String) throws(WeightsError) -> TensorInfo {
        guard let entry = value as? [String: Any],
              let dtypeName = entry["dtype"] as? String,
              let shapeValues = entry["shape"] as? [Any],
              let offsetValues = entry["data_offsets"] as? [Any], offsetValues.count == 2
        else {
            throw .malformedHeader(path: path, reason: "entry '\(name)' needs dtype, shape and two data_offsets")
        }
        guard let shape = integers(shapeValues), shape.allSatisfy({ $0 >= 0 }),
              let offsets = integers(offsetValues), offsets[0] >= 0, offsets[0] <= offsets[1]
        else {
            throw .malformedHeader(path: path, reason: "entry '\(name)' has a negative or non-integer shape or offset")
        }
        guard offsets[1] <= dataSize else {
            throw .malformedHeader(path: path, reason: "tensor '\(name)' ends at byte \(offsets[1]) of the data section, past its end at \(dataSize)")
        }
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            throw .unsupportedDType(path: path, tensor: name, dtype: dtypeName)
        }

        var byteCount = dtype.byteCount
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw .malformedHeader(path: path, reason: "tensor '\(name)' has an impossibly large shape \(shape)")
            }
            byteCount = product
        }
        guard byteCount == offsets[1] - offsets[0] else {
            throw .malformedHeader(path: path, reason: "tensor '\(name)' of shape \(shape) and dtype \(dtypeName) needs \(byteCount) bytes but its offsets span \(offsets[1] - offsets[0])")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: dataStart + offsets[0] ..< dataStart + offsets[1])
    }

    /// Exact integers from JSON numbers; nil if any is fractional or out of range.
    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard let number = value as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }

    /// Returns the tensor's values converted to Float, in row-major order.
    public func floats(_ name: String) throws(WeightsError) -> [Float] {
        guard let info = tensors[name] else {
            throw .missingTensor(name: name, expectedShape: [])
        }
        defer { file.releasePages(info.byteRange) }
        let bytes = file.bytes(info.byteRange)
        let count = info.elementCount
        switch info.dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { output, initialized in
                for index in 0 ..< count {
                    output[index] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self).littleEndian)
                }
                initialized = count
            }
        case .f16:
            return [Float](unsafeUninitializedCapacity: count) { output, initialized in
                if let source = bytes.baseAddress {
                    // safetensors stores little-endian values, the byte order of every
                    // processor this package builds for.
                    mmret_f16_to_f32(source.assumingMemoryBound(to: UInt16.self), output.baseAddress!, count)
                }
                initialized = count
            }
        case .bf16:
            // bfloat16 is the upper half of a float32, so widening is exact.
            return [Float](unsafeUninitializedCapacity: count) { output, initialized in
                if let source = bytes.baseAddress {
                    mmret_bf16_to_f32(source.assumingMemoryBound(to: UInt16.self), output.baseAddress!, count)
                }
                initialized = count
            }
        case .i64, .i32:
            throw .unsupportedDType(path: url.path, tensor: name, dtype: info.dtype.rawValue)
        }
    }

    /// Returns the values of an integer tensor (I64 or I32).
    public func integers(_ name: String) throws(WeightsError) -> [Int] {
        guard let info = tensors[name] else {
            throw .missingTensor(name: name, expectedShape: [])
        }
        let bytes = file.bytes(info.byteRange)
        switch info.dtype {
        case .i64:
            return (0 ..< info.elementCount).map { Int(bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self).littleEndian) }
        case .i32:
            return (0 ..< info.elementCount).map { Int(bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self).littleEndian) }
        case .f32, .f16, .bf16:
            throw .unsupportedDType(path: url.path, tensor: name, dtype: info.dtype.rawValue)
        }
    }
}
