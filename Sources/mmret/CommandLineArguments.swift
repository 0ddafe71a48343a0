import Foundation

/// The options and flags given to one subcommand, parsed from `--name value`,
/// `--name=value` and `--flag`.
///
/// Every option the command accepts is declared up front, so that a misspelt name is
/// reported as unknown (with the closest known name) before any required option is
/// looked up.
struct CommandLineArguments {
    let command: String
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments` (without the program and command names). `valueOptions` take one
    /// value each; `flagNames` take none.
    init(command: String, arguments: [String], valueOptions: Set<String>, flagNames: Set<String> = []) throws(CommandLineError) {
        self.command = command
        let known = valueOptions.union(flagNames)
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw CommandLineError("unexpected argument '\(argument)' for '\(command)'; options start with --")
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard known.contains(name) else {
                throw CommandLineError(Self.unknownOptionMessage(name, command: command, known: known))
            }
            guard values[name] == nil, !flags.contains(name) else {
                throw CommandLineError("option --\(name) is given twice")
            }

            if flagNames.contains(name) {
                guard inlineValue == nil else {
                    throw CommandLineError("option --\(name) takes no value")
                }
                flags.insert(name)
                index += 1
            } else if let inlineValue {
                values[name] = inlineValue
                index += 1
            } else {
                // A following option means the value was left out, not that the value
                // starts with two dashes.
                guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") else {
                    throw CommandLineError("option --\(name) needs a value")
                }
                values[name] = arguments[index + 1]
                index += 2
            }
        }
    }

    private static func unknownOptionMessage(_ name: String, command: String, known: Set<String>) -> String {
        var message = "unknown option --\(name) for '\(command)'"
        var closest: (name: String, distance: Int)?
        for candidate in known.sorted() {
            let distance = editDistance(candidate, name)
            if distance <= 2, distance < closest?.distance ?? Int.max {
                closest = (candidate, distance)
            }
        }
        if let closest {
            message += "; did you mean --\(closest.name)?"
        }
        return message + " (see 'mmret \(command) --help')"
    }

    /// Returns the Levenshtein distance between two option names.
    private static func editDistance(_ first: String, _ second: String) -> Int {
        let a = Array(first)
        let b = Array(second)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0 ... b.count)
        for i in 1 ... a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1 ... b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Returns the value of `--name`, or throws an error that names the missing option.
    func required(_ name: String) throws(CommandLineError) -> String {
        guard let value = values[name] else {
            throw CommandLineError("'\(command)' needs --\(name)")
        }
        return value
    }

    func optional(_ name: String) -> String? {
        values[name]
    }

    /// Returns the value of `--name` as an integer of at least `minimum` and at most
    /// `maximum`, or `defaultValue` when it is absent.
    func integer(_ name: String, default defaultValue: Int, minimum: Int = 1, maximum: Int = Int(Int32.max)) throws(CommandLineError) -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text), value >= minimum, value <= maximum else {
            throw CommandLineError("--\(name) must be an integer from \(minimum) to \(maximum), got '\(text)'")
        }
        return value
    }

    func flag(_ name: String) -> Bool {
        flags.contains(name)
    }

    /// Returns the directory named by `--name`, after checking that it exists and is a
    /// directory, so that a mistyped path is reported as such rather than as a missing
    /// file inside it.
    func directory(_ name: String) throws(CommandLineError) -> URL {
        let path = try required(name)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandLineError("--\(name) \(path): no such directory")
        }
        guard isDirectory.boolValue else {
            throw CommandLineError("--\(name) \(path) is a file; pass the model directory that contains it")
        }
        return URL(fileURLWithPath: path)
    }
}

/// A usage error: the message is printed after `error:` and the process exits with 2.
struct CommandLineError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
