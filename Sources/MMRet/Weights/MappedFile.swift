import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Pages are read from disk when first touched,
/// so opening a multi-gigabyte checkpoint costs nothing until its tensors are converted.
final class MappedFile: @unchecked Sendable {
    let url: URL
    let size: Int
    /// Start of the mapping; nil for an empty file. Never written through.
    private let base: UnsafeRawPointer?

    init(url: URL) throws(WeightsError) {
        self.url = url
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else {
            throw WeightsError.unreadableFile(path: url.path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw WeightsError.unreadableFile(path: url.path, reason: String(cString: strerror(errno)))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw WeightsError.unreadableFile(path: url.path, reason: "not a regular file")
        }
        size = Int(status.st_size)
        guard size > 0 else {
            base = nil
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else {
            throw WeightsError.unreadableFile(path: url.path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(address)
    }

    deinit {
        if let base {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }

    /// Drops the pages that lie wholly inside `range` from this process's memory. The
    /// mapping stays valid: a later read faults them in again from the file. Loading
    /// calls this after converting a tensor, so that a checkpoint is not resident twice
    /// (once mapped, once converted) at the peak.
    func releasePages(_ range: Range<Int>) {
        guard let base else { return }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + pageSize - 1) / pageSize * pageSize
        let end = min(range.upperBound, size) / pageSize * pageSize
        guard end > start else { return }
        // Advice only: a failure leaves the pages resident, which costs memory but not
        // correctness, so the result is ignored.
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    /// Returns the bytes in `range`, which the caller has checked lies within the file.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "byte range \(range) outside \(url.path) of \(size) bytes")
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}
