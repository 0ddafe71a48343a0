import Foundation

/// Shows the progress of a long run on stderr: a bar redrawn in place on a terminal, or a
/// plain log line every `logInterval` seconds when stderr is a file or a pipe, so that logs
/// stay readable.
public final class ProgressReporter {
    public let total: Int
    public let label: String
    private let isTerminal: Bool
    private let logInterval: Double
    private let write: (String) -> Void
    private let start = Date()
    private var lastOutput = Date.distantPast
    private var lastCount = 0
    private var drewBar = false

    /// - Parameters:
    ///   - label: the unit counted, such as "images".
    ///   - isTerminal: whether to draw a bar; nil checks whether stderr is a terminal.
    ///   - write: receives the text to print; the default writes to stderr.
    public init(
        total: Int, label: String, isTerminal: Bool? = nil, logInterval: Double = 10,
        write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.total = total
        self.label = label
        self.isTerminal = isTerminal ?? (isatty(STDERR_FILENO) == 1)
        self.logInterval = logInterval
        self.write = write
    }

    /// Records that `count` inputs are done. Redraws at most ten times a second on a terminal.
    public func update(_ count: Int) {
        lastCount = count
        let now = Date()
        let interval = isTerminal ? 0.1 : logInterval
        guard now.timeIntervalSince(lastOutput) >= interval || count == total else { return }
        lastOutput = now
        if isTerminal {
            write("\r" + bar(count: count, elapsed: now.timeIntervalSince(start)))
            drewBar = true
        } else if count < total {
            write(line(count: count, elapsed: now.timeIntervalSince(start)) + "\n")
        }
    }

    /// Ends the bar with a summary line.
    public func finish() {
        let elapsed = Date().timeIntervalSince(start)
        if isTerminal && drewBar {
            write("\r" + bar(count: lastCount, elapsed: elapsed) + "\n")
        } else if !isTerminal {
            write(line(count: lastCount, elapsed: elapsed) + "\n")
        }
    }

    private func rate(count: Int, elapsed: Double) -> Double {
        elapsed > 0 ? Double(count) / elapsed : 0
    }

    private func bar(count: Int, elapsed: Double) -> String {
        let width = 24
        let filled = total > 0 ? min(width, width * count / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        return "[\(bar)] \(count)/\(total) \(label) \(formatRate(count: count, elapsed: elapsed)) \(timeText(count: count, elapsed: elapsed))"
    }

    private func line(count: Int, elapsed: Double) -> String {
        let percent = total > 0 ? 100 * count / total : 100
        return "\(count)/\(total) \(label) (\(percent)%) \(formatRate(count: count, elapsed: elapsed)) \(timeText(count: count, elapsed: elapsed))"
    }

    private func formatRate(count: Int, elapsed: Double) -> String {
        String(format: "%.1f/s", rate(count: count, elapsed: elapsed))
    }

    /// "ETA m:ss" while running, "in m:ss" once done.
    private func timeText(count: Int, elapsed: Double) -> String {
        if count >= total {
            return "in " + clock(elapsed)
        }
        let rate = rate(count: count, elapsed: elapsed)
        guard rate > 0 else { return "ETA --:--" }
        return "ETA " + clock(Double(total - count) / rate)
    }

    private func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        let hours = whole / 3600
        let minutes = whole / 60 % 60
        let rest = whole % 60
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
