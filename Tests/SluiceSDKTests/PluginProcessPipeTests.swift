import Foundation
import Testing
@testable import SluiceSDK
#if canImport(Glibc)
import Glibc
#endif

/// The pipes a host starts a plugin with hold a batch of several hundred kilobytes, so it
/// crosses in a few writes instead of one per 64 KiB (each waiting for the other side).
@Suite struct PluginProcessPipeTests {
    @Test func aPluginsInputPipeHoldsAMegabyte() async throws {
        // A child that never reads: what a write without waiting puts in its input is what the
        // pipe holds.
        let process = try PluginProcess(executable: URL(fileURLWithPath: "/bin/sleep"), arguments: ["600"])
        defer { process.send(signal: SIGKILL) }
        let descriptor = process.stdinHandle.fileDescriptor
        #expect(fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0)
        let bytes = [UInt8](repeating: 7, count: 900 * 1024)
        var written = 0
        while written < bytes.count {
            let rest = Array(bytes[written...])
            let count = Glibc.write(descriptor, rest, rest.count)
            guard count > 0 else { break }
            written += count
        }
        #expect(written == bytes.count)
    }

    @Test func aPluginsOutputPipeHoldsAMegabyte() async throws {
        // One write that does not wait (dd's `oflag=nonblock`) puts in the pipe what it holds;
        // dd then ends.
        let process = try PluginProcess(executable: URL(fileURLWithPath: "/bin/dd"),
                                        arguments: ["if=/dev/zero", "bs=921600", "count=1", "oflag=nonblock", "status=none"])
        defer { process.send(signal: SIGKILL) }
        _ = await process.waitForExit(timeout: 120)
        var received = 0
        while let data = try process.stdoutHandle.read(upToCount: 1 << 20), !data.isEmpty { received += data.count }
        #expect(received == 921600)
    }
}
