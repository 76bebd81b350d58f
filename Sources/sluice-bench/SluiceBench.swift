import ArgumentParser

/// Benchmarks that print figures as ratios against references measured in the same run.
@main
struct SluiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Sluice benchmarks.",
        subcommands: [CodecBenchmark.self, JSONLinesBenchmark.self, CopyCodecBenchmark.self, ReadBenchmark.self, WriteBenchmark.self, CDCBenchmark.self, CDCLagBenchmark.self, PipelineBenchmark.self, StreamsBenchmark.self,
                      MeasureCommand.self]
    )
}
