enum TokenizerBenchCommand {
    // TODO: implement.
    static func run(_ arguments: [String]) throws {
        throw CommandLineError("not implemented yet")
    }
}
