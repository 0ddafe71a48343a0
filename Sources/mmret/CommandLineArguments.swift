/// The options and flags given to one subcommand, parsed from `--name value` and `--flag`.
///
/// Every lookup records the option name, so that `rejectUnused()` can report a misspelt
/// or unsupported option instead of silently ignoring it.
struct CommandLineArguments {
    let command: String
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private var used: Set<String> = []

    /// Parses `arguments` (without the program and command names). `flagNames` lists the
    /// options that take no value; every other `--name` consumes the next argument.
    init(command: String, arguments: [String], flagNames: Set<String>) throws(CommandLineError) {
        self.command = command
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
            if flagNames.contains(name) {
                guard inlineValue == nil else {
                    throw CommandLineError("option --\(name) takes no value")
                }
                flags.insert(name)
                index += 1
                continue
            }
            if let inlineValue {
                values[name] = inlineValue
                index += 1
                continue
            }
            guard index + 1 < arguments.count else {
                throw CommandLineError("option --\(name) needs a value")
            }
            values[name] = arguments[index + 1]
            index += 2
        }
    }

    /// Returns the value of `--name`, or throws an error that names the missing option.
    mutating func required(_ name: String) throws(CommandLineError) -> String {
        guard let value = optional(name) else {
            throw CommandLineError("'\(command)' needs --\(name)")
        }
        return value
    }

    mutating func optional(_ name: String) -> String? {
        used.insert(name)
        return values[name]
    }

    /// Returns the value of `--name` as a positive integer, or `defaultValue` when it is absent.
    mutating func positiveInteger(_ name: String, default defaultValue: Int) throws(CommandLineError) -> Int {
        guard let text = optional(name) else { return defaultValue }
        guard let value = Int(text), value > 0 else {
            throw CommandLineError("--\(name) must be a positive integer, got '\(text)'")
        }
        return value
    }

    mutating func flag(_ name: String) -> Bool {
        used.insert(name)
        return flags.contains(name)
    }

    /// Rejects any option that the command did not look up.
    func rejectUnused() throws(CommandLineError) {
        let unknown = Set(values.keys).union(flags).subtracting(used).sorted()
        guard unknown.isEmpty else {
            let names = unknown.map { "--\($0)" }.joined(separator: ", ")
            throw CommandLineError("unknown option \(names) for '\(command)'; see 'mmret help'")
        }
    }
}

/// A usage error: the message is printed after `error:` and the process exits with 2.
struct CommandLineError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
