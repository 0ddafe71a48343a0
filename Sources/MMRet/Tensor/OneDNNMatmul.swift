import CDNNL
import Foundation

/// The weights of a linear layer in fp32 or bfloat16, reordered once into the blocked
/// layout that oneDNN's brgemm matmul kernels read, so that no multiply repacks them.
///
/// Immutable after `init`. The storage is freed with the object.
final class PackedWeights: @unchecked Sendable {
    /// The element type of the weights and of the matmul's input.
    let precision: Precision
    /// Output features (the weight's rows, the matmul's N).
    let outputs: Int
    /// Input features (the weight's columns, the matmul's K).
    let inputs: Int
    /// The layout of `storage`, as oneDNN chose it for these N and K.
    let descriptor: dnnl_memory_desc_t
    let storage: UnsafeMutableRawPointer

    /// Reorders `weight`, PyTorch's `[out, in]` layout in fp32, rounding it to bfloat16
    /// for bf16 precision.
    init(weight: Matrix, precision: Precision) {
        self.precision = precision
        outputs = weight.rows
        inputs = weight.columns
        let engine = OneDNNMatmul.engine.value
        // A team of OpenMP threads would spin between the many small reorders of a load.
        omp_set_num_threads(1)

        // The layout is chosen for 256 rows and then used for every row count. Creating a
        // primitive for a row count that rejected it would stop with a precondition
        // failure, and a test checks that the BGE-VL shapes keep the brgemm kernels.
        var plain = OneDNNMatmul.weightsDescriptor(inputs: inputs, outputs: outputs, dataType: dnnl_f32)
        let query = OneDNNMatmul.primitiveDescriptor(
            rows: 256, inputs: inputs, outputs: outputs, precision: precision, weights: nil, hasBias: true,
            activation: nil, output: .float32, accumulate: false
        )
        descriptor = dnnl_primitive_desc_query_md(query, dnnl_query_weights_md, 0).pointee
        dnnl_primitive_desc_destroy(query)

        var packed = descriptor
        let size = dnnl_memory_desc_get_size(&packed)
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(size, 64), alignment: 64)

        // A reorder from the fp32 `[out, in]` matrix (the matmul's `[K, N]` weights with
        // transposed strides) rounds and repacks in one pass.
        var reorderDescriptor: dnnl_primitive_desc_t?
        OneDNNMatmul.check(dnnl_reorder_primitive_desc_create(&reorderDescriptor, &plain, engine, &packed, engine, nil), "reorder descriptor")
        var reorder: dnnl_primitive_t?
        OneDNNMatmul.check(dnnl_primitive_create(&reorder, reorderDescriptor), "reorder")
        dnnl_primitive_desc_destroy(reorderDescriptor)
        weight.values.withUnsafeBufferPointer { values in
            var sourceMemory: dnnl_memory_t?
            var destinationMemory: dnnl_memory_t?
            OneDNNMatmul.check(dnnl_memory_create(&sourceMemory, &plain, engine, UnsafeMutableRawPointer(mutating: values.baseAddress!)), "memory")
            OneDNNMatmul.check(dnnl_memory_create(&destinationMemory, &packed, engine, storage), "memory")
            var arguments = [
                dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: sourceMemory),
                dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destinationMemory),
            ]
            OneDNNMatmul.execute(reorder!, arguments: &arguments)
            dnnl_memory_destroy(sourceMemory)
            dnnl_memory_destroy(destinationMemory)
        }
        dnnl_primitive_destroy(reorder)
    }

    deinit {
        storage.deallocate()
    }
}

/// `activation(source · weightᵀ + bias)` through oneDNN's matmul primitive with fp32 or
/// bfloat16 inputs and fp32 accumulation, written as fp32 or bfloat16, or added to an
/// fp32 destination (the residual connection).
///
/// Every call runs on the calling thread alone, like `GEMMBackend`. Primitives are
/// created once per shape and kept for the life of the process.
enum OneDNNMatmul {
    enum Output: Hashable {
        case float32
        case bfloat16
    }

    static let engine: UncheckedSendable<dnnl_engine_t> = {
        var engine: dnnl_engine_t?
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "CPU engine")
        return UncheckedSendable(engine!)
    }()

    private struct Key: Hashable {
        let rows: Int
        let inputs: Int
        let outputs: Int
        let precision: Precision
        let hasBias: Bool
        let activation: Activation?
        let output: Output
        let accumulate: Bool
    }

    /// A created primitive, destroyed when the last caller and the cache let go of it.
    private final class Primitive: @unchecked Sendable {
        let primitive: dnnl_primitive_t
        let scratchpadSize: Int

        init(_ primitive: dnnl_primitive_t, scratchpadSize: Int) {
            self.primitive = primitive
            self.scratchpadSize = scratchpadSize
        }

        deinit {
            dnnl_primitive_destroy(primitive)
        }
    }

    /// Primitives by shape and fusion. oneDNN primitives may execute on several threads
    /// at once; the lock guards only the dictionary.
    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var primitives: [Key: Primitive] = [:]
    }

    /// Entries after which the cache starts over. Text batches bring a new row count for
    /// every mix of lengths, so without a bound the cache would keep growing. oneDNN keeps
    /// a primitive cache of its own (1024 entries by default in oneDNN 2.x), which makes
    /// creating an evicted primitive again cheap.
    private static let cacheCapacity = 512

    private static let cache = Cache()

    /// Multiplies `rows` rows of `source` (`[rows, weights.inputs]` row-major, of the
    /// weights' precision) by the packed weights. With `accumulate`, the result is added to `destination`,
    /// which must then be fp32; the bias and activation apply before that sum.
    static func multiply(
        source: UnsafeRawPointer, rows: Int, weights: PackedWeights,
        bias: UnsafePointer<Float>?, activation: Activation?,
        destination: UnsafeMutableRawPointer, output: Output, accumulate: Bool
    ) {
        guard rows > 0 else { return }
        precondition(!accumulate || output == .float32, "accumulating matmul writes fp32")
        omp_set_num_threads(1)

        let key = Key(rows: rows, inputs: weights.inputs, outputs: weights.outputs, precision: weights.precision, hasBias: bias != nil,
                      activation: activation, output: output, accumulate: accumulate)
        let entry = primitive(for: key, weights: weights)
        let (primitive, scratchpadSize) = (entry.primitive, entry.scratchpadSize)
        let engine = engine.value

        var sourceDescriptor = matrixDescriptor(rows: rows, columns: weights.inputs, dataType: dataType(weights.precision))
        var weightsDescriptor = weights.descriptor
        var destinationDescriptor = matrixDescriptor(rows: rows, columns: weights.outputs, dataType: output == .float32 ? dnnl_f32 : dnnl_bf16)
        var biasDescriptor = matrixDescriptor(rows: 1, columns: weights.outputs, dataType: dnnl_f32)
        var scratchpadDescriptor = matrixDescriptor(rows: 1, columns: max(scratchpadSize, 1), dataType: dnnl_u8)
        let scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(scratchpadSize, 64), alignment: 64)
        defer { scratchpad.deallocate() }

        var memories: [dnnl_memory_t?] = []
        func memory(_ descriptor: inout dnnl_memory_desc_t, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t? {
            var memory: dnnl_memory_t?
            check(dnnl_memory_create(&memory, &descriptor, engine, handle), "memory")
            memories.append(memory)
            return memory
        }
        var arguments = [
            dnnl_exec_arg_t(arg: DNNL_ARG_SRC_0, memory: memory(&sourceDescriptor, UnsafeMutableRawPointer(mutating: source))),
            dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS_0, memory: memory(&weightsDescriptor, weights.storage)),
            dnnl_exec_arg_t(arg: DNNL_ARG_DST_0, memory: memory(&destinationDescriptor, destination)),
            dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: memory(&scratchpadDescriptor, scratchpad)),
        ]
        if let bias {
            arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: memory(&biasDescriptor, UnsafeMutableRawPointer(mutating: bias))))
        }
        execute(primitive, arguments: &arguments)
        for memory in memories {
            dnnl_memory_destroy(memory)
        }
        // Keeps the primitive alive until here, should the cache drop it meanwhile.
        withExtendedLifetime(entry) {}
    }

    /// Returns the primitive for `key`, creating it on first use.
    private static func primitive(for key: Key, weights: PackedWeights) -> Primitive {
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let entry = cache.primitives[key] {
            return entry
        }
        if cache.primitives.count >= cacheCapacity {
            cache.primitives.removeAll()
        }
        let descriptor = primitiveDescriptor(
            rows: key.rows, inputs: key.inputs, outputs: key.outputs, precision: key.precision, weights: weights.descriptor,
            hasBias: key.hasBias, activation: key.activation, output: key.output, accumulate: key.accumulate
        )
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var primitive: dnnl_primitive_t?
        check(dnnl_primitive_create(&primitive, descriptor), "matmul primitive for \(key)")
        let scratchpadSize = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0))
        let entry = Primitive(primitive!, scratchpadSize: scratchpadSize)
        cache.primitives[key] = entry
        return entry
    }

    /// Creates the descriptor of a matmul with inputs in `precision`. With `weights` nil,
    /// oneDNN chooses the weights layout; otherwise it must accept the given one.
    static func primitiveDescriptor(
        rows: Int, inputs: Int, outputs: Int, precision: Precision, weights: dnnl_memory_desc_t?, hasBias: Bool,
        activation: Activation?, output: Output, accumulate: Bool
    ) -> dnnl_primitive_desc_t {
        var source = matrixDescriptor(rows: rows, columns: inputs, dataType: dataType(precision))
        var weightsDescriptor = weights ?? anyWeightsDescriptor(inputs: inputs, outputs: outputs, dataType: dataType(precision))
        var bias = matrixDescriptor(rows: 1, columns: outputs, dataType: dnnl_f32)
        var destination = matrixDescriptor(rows: rows, columns: outputs, dataType: output == .float32 ? dnnl_f32 : dnnl_bf16)
        var matmul = dnnl_matmul_desc_t()
        let status = hasBias
            ? dnnl_matmul_desc_init(&matmul, &source, &weightsDescriptor, &bias, &destination)
            : dnnl_matmul_desc_init(&matmul, &source, &weightsDescriptor, nil, &destination)
        check(status, "matmul descriptor")

        var attributes: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attributes), "attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "scratchpad mode")
        var postOps: dnnl_post_ops_t?
        check(dnnl_post_ops_create(&postOps), "post-ops")
        defer { dnnl_post_ops_destroy(postOps) }
        switch activation {
        case nil: break
        // x * sigmoid(1.702 x) is oneDNN's swish with alpha 1.702.
        case .quickGELU: check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_swish, 1.702, 0), "swish post-op")
        case .gelu: check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_gelu_erf, 0, 0), "gelu post-op")
        }
        if accumulate {
            check(dnnl_post_ops_append_sum(postOps, 1), "sum post-op")
        }
        check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "post-ops")

        var descriptor: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&descriptor, &matmul, attributes, engine.value, nil),
              "\(precision.rawValue) matmul of \(rows)x\(inputs) by \(inputs)x\(outputs)")
        return descriptor!
    }

    /// `[K, N]` weights over PyTorch's `[out, in]` row-major storage: transposed strides.
    static func weightsDescriptor(inputs: Int, outputs: Int, dataType: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims: [dnnl_dim_t] = [dnnl_dim_t(inputs), dnnl_dim_t(outputs)]
        let strides: [dnnl_dim_t] = [1, dnnl_dim_t(inputs)]
        check(dnnl_memory_desc_init_by_strides(&descriptor, 2, dims, dataType, strides), "weights descriptor")
        return descriptor
    }

    private static func anyWeightsDescriptor(inputs: Int, outputs: Int, dataType: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims: [dnnl_dim_t] = [dnnl_dim_t(inputs), dnnl_dim_t(outputs)]
        check(dnnl_memory_desc_init_by_tag(&descriptor, 2, dims, dataType, dnnl_format_tag_any), "weights descriptor")
        return descriptor
    }

    static func dataType(_ precision: Precision) -> dnnl_data_type_t {
        switch precision {
        case .fp32: dnnl_f32
        case .bf16: dnnl_bf16
        }
    }

    /// Returns the descriptor of a dense row-major matrix.
    static func matrixDescriptor(rows: Int, columns: Int, dataType: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(columns)]
        check(dnnl_memory_desc_init_by_tag(&descriptor, 2, dims, dataType, dnnl_ab), "matrix descriptor")
        return descriptor
    }

    static func execute(_ primitive: dnnl_primitive_t, arguments: inout [dnnl_exec_arg_t]) {
        var stream: dnnl_stream_t?
        check(dnnl_stream_create(&stream, engine.value, dnnl_stream_default_flags.rawValue), "stream")
        check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), &arguments), "matmul")
        check(dnnl_stream_wait(stream), "stream wait")
        dnnl_stream_destroy(stream)
    }

    /// Stops on a oneDNN failure. The shapes come from weights checked at load and the
    /// model packs weights only where `hasFastKernel` holds, so a failure is a bug.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN failed to create or run the \(what()) (status \(status.rawValue))")
    }

    /// Returns whether oneDNN can run a matmul with inputs in `precision` on this
    /// processor at all. Its bf16 kernels need AVX-512; without it, creating one fails.
    static func supports(_ precision: Precision) -> Bool {
        implementationName(precision: precision) != nil
    }

    /// Returns whether oneDNN runs a matmul with inputs in `precision` on this processor
    /// with its brgemm kernels. Those need AVX-512 (AVX512-BF16 for full bf16 speed).
    static func hasFastKernel(for precision: Precision) -> Bool {
        implementationName(precision: precision)?.hasPrefix("brg") ?? false
    }

    /// Returns the name of the kernel oneDNN picks for a small matmul with inputs in
    /// `precision`, or nil when it has none.
    private static func implementationName(precision: Precision) -> String? {
        var source = matrixDescriptor(rows: 64, columns: 256, dataType: dataType(precision))
        var weights = anyWeightsDescriptor(inputs: 256, outputs: 256, dataType: dataType(precision))
        var destination = matrixDescriptor(rows: 64, columns: 256, dataType: dnnl_f32)
        var matmul = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&matmul, &source, &weights, nil, &destination) == dnnl_success else { return nil }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &matmul, nil, engine.value, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name)
        return name.map { String(cString: $0) } ?? ""
    }

    /// Returns oneDNN's name for the kernel it picks for a matmul of this shape.
    static func implementationName(rows: Int, weights: PackedWeights) -> String {
        let descriptor = primitiveDescriptor(rows: rows, inputs: weights.inputs, outputs: weights.outputs, precision: weights.precision, weights: weights.descriptor,
                                             hasBias: true, activation: .quickGELU, output: .float32, accumulate: true)
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var name: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name)
        return name.map { String(cString: $0) } ?? "unknown"
    }
}
