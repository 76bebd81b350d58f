import ArgumentParser
import Foundation
import PluginHostKit
import SluiceWire

/// `sluice-bench jsonl`: plugin-host's JSON Lines alone, no process or server. Renders the
/// codec benchmark's batches as `read --output` writes them, reads the text back into batches
/// as `write --input` does (checked equal to the originals), and prints each direction's MB/s
/// against 200 MB/s and its ratio to the wire codec's encode or decode of the same batches in
/// the same run.
struct JSONLinesBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jsonl",
        abstract: "Measure plugin-host's JSON Lines rendering and reading (mixed 8-column table) against 200 MB/s and the wire codec.")

    /// The target, in megabytes of JSON Lines per second, each way.
    static let targetMegabytesPerSecond = 200.0

    @OptionGroup var options: BatchRunOptions

    mutating func run() throws {
        let (rows, batchSize, runs) = (options.rows, options.batchSize, options.runs)
        let schema = CodecBenchmark.schema
        let batches = options.batches()
        let catalog = ConfiguredCatalog(streams: [ConfiguredStream(schema: schema)])
        let clock = ContinuousClock()

        var text: [UInt8] = []
        var renderSeconds = Double.infinity, readSeconds = Double.infinity
        var encodeSeconds = Double.infinity, decodeSeconds = Double.infinity
        var stream: [UInt8] = []
        for _ in 0 ..< runs {
            var rendered: [UInt8] = []
            rendered.reserveCapacity(text.count)
            renderSeconds = min(renderSeconds, CodecBenchmark.seconds(clock.measure {
                for batch in batches { JSONLines.render(batch, schema: schema, to: &rendered) }
            }))
            text = rendered
            let (seconds, encoded) = CodecBenchmark.encodeAndFrame(batches, capacity: stream.count)
            encodeSeconds = min(encodeSeconds, seconds)
            stream = encoded
        }
        for _ in 0 ..< runs {
            var read: [RecordBatch] = []
            readSeconds = min(readSeconds, try CodecBenchmark.seconds(clock.measure {
                read = try JSONLines.read(text, catalog: catalog, batchSize: batchSize)
            }))
            guard read == batches else {
                let first = batches.indices.first { $0 >= read.count || read[$0] != batches[$0] }.map(String.init) ?? "count \(read.count) vs \(batches.count)"
                throw ValidationError("the JSON Lines read back differ from the batches rendered (batch \(first))")
            }
            decodeSeconds = min(decodeSeconds, try CodecBenchmark.deframeAndDecode(stream).0)
        }

        let megabytes = Double(text.count) / 1_048_576
        print("JSON Lines: \(CodecBenchmark.format(megabytes)) MB for \(rows) rows (\(text.count / rows) bytes per row); "
              + "wire stream \(CodecBenchmark.format(Double(stream.count) / 1_048_576)) MB")
        var passed = true
        for (label, seconds, reference, referenceLabel) in [("render (read --output)", renderSeconds, encodeSeconds, "encode+frame"),
                                                            ("read (write --input)", readSeconds, decodeSeconds, "deframe+decode")] {
            let rate = megabytes / seconds
            let pass = rate >= Self.targetMegabytesPerSecond
            passed = passed && pass
            print("\(label): \(CodecBenchmark.format(seconds)) s, \(CodecBenchmark.format(rate)) MB/s, "
                  + "\(CodecBenchmark.format(Double(rows) / seconds / 1e6)) M rows/s, "
                  + "\(CodecBenchmark.format(rate / Self.targetMegabytesPerSecond)) x target: \(pass ? "PASS" : "FAIL"); "
                  + "\(CodecBenchmark.format(seconds / reference)) x the wire codec's \(referenceLabel) time (\(CodecBenchmark.format(reference)) s)")
        }
        if !passed { throw ExitCode(1) }
    }
}
