import Foundation
import Testing
@testable import MMRet

struct ProgressReporterTests {
    /// On a terminal the bar is redrawn in place with count, rate and time left, and the
    /// final draw ends the line.
    @Test func terminalDrawsABarInPlace() {
        var output = ""
        let reporter = ProgressReporter(total: 4, label: "images", isTerminal: true) { output += $0 }
        reporter.update(1)
        #expect(output.hasPrefix("\r[######                  ] 1/4 images "))
        #expect(output.contains("/s ETA "))
        reporter.update(4)
        reporter.finish()
        #expect(output.contains("\r[########################] 4/4 images "))
        #expect(output.hasSuffix("\n"))
        #expect(output.contains(" in 0:00"))
    }

    /// Elsewhere (a log file or a pipe) whole lines are written, at most one per interval,
    /// and a summary at the end.
    @Test func logsPlainLinesAtAnInterval() {
        var output = ""
        let reporter = ProgressReporter(total: 10, label: "texts", isTerminal: false, logInterval: 3600) { output += $0 }
        reporter.update(1)
        reporter.update(2)
        reporter.update(10)
        reporter.finish()
        let lines = output.split(separator: "\n")
        #expect(!output.contains("\r"))
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.hasPrefix("1/10 texts (10%) ") == true)
        #expect(lines.last?.hasPrefix("10/10 texts (100%) ") == true)
        #expect(lines.last?.contains(" in ") == true)
    }
}
