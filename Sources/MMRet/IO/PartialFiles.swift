import Foundation
import Synchronization

/// The temporary files that writers have not yet renamed into place, so that a process
/// stopped by a signal can delete them before it exits.
///
/// Writers register a file when they create it and unregister it once it is renamed or
/// removed. Deinitializers do not run when a process exits on a signal, which is why the
/// list is global.
public enum PartialFiles {
    private static let paths = Mutex<Set<String>>([])

    static func register(_ path: String) {
        paths.withLock { _ = $0.insert(path) }
    }

    static func unregister(_ path: String) {
        paths.withLock { _ = $0.remove(path) }
    }

    /// Deletes every registered file and returns how many there were.
    @discardableResult
    public static func removeAll() -> Int {
        paths.withLock { paths in
            for path in paths {
                unlink(path)
            }
            defer { paths.removeAll() }
            return paths.count
        }
    }
}
