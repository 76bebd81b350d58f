import Foundation
import SluiceSDK
import Testing

/// Processes started by plugin-host and the SDK begin with a clean signal state, and a reaped
/// child is never signalled (its pid may belong to another process by then).
@Suite("Child processes and signals", .temporaryFolder)
struct ChildSignalTests {
    /// The bits of SIGINT and SIGTERM in a /proc status signal mask.
    private static let interruptBits: UInt64 = (1 << (UInt64(SIGINT) - 1)) | (1 << (UInt64(SIGTERM) - 1))

    /// The `SigBlk` and `SigIgn` masks of a /proc status text.
    private func masks(_ status: String) -> (blocked: UInt64?, ignored: UInt64?) {
        var found: [String: UInt64] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "SigBlk" || parts[0] == "SigIgn" { found[parts[0]] = UInt64(parts[1], radix: 16) }
        }
        return (found["SigBlk"], found["SigIgn"])
    }

    @Test("a plugin started by plugin-host has no signal blocked and SIGTERM and SIGINT not ignored")
    func pluginStartsWithCleanSignals() async throws {
        // Perl leaves the signal state it inherited alone (a shell would clear the mask).
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("signals-\(UUID().uuidString)").path
        let plugin = try HostFixtures.temporaryFile("""
            #!/usr/bin/perl
            open(my $in, '<', '/proc/self/status') or die;
            open(my $out, '>', $ENV{SLUICE_SIGNAL_REPORT}) or die;
            print $out $_ while <$in>;
            close($out);
            """, suffix: ".pl")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: plugin)
        defer {
            try? FileManager.default.removeItem(atPath: plugin)
            try? FileManager.default.removeItem(atPath: report)
        }
        let result = try await HostFixtures.host(["spec", "--plugin", plugin], environment: ["SLUICE_SIGNAL_REPORT": report])
        #expect(result.exitCode == 71, "\(result.stderr)")
        let status = try String(contentsOfFile: report, encoding: .utf8)
        let (blocked, ignored) = masks(status)
        #expect(blocked == 0, "\(status)")
        #expect(ignored.map { $0 & Self.interruptBits } == 0, "\(status)")
    }

    @Test("a child that ended and was reaped is not signalled")
    func reapedChildIsNotSignalled() async throws {
        let child = try ChildProcess(executable: "/bin/true", stdin: 0, stdout: 2, stderr: 2)
        #expect(await child.waitForExit() == .exited(0))
        #expect(!child.send(signal: SIGTERM))
    }

    @Test("a running child leads its own process group, is signalled, and its status says which signal ended it")
    func runningChildIsSignalled() async throws {
        let child = try ChildProcess(executable: "/bin/sleep", arguments: ["3600"], stdin: 0, stdout: 2, stderr: 2)
        #expect(getpgid(child.pid) == child.pid)
        #expect(child.send(signal: SIGTERM))
        #expect(await child.waitForExit() == .signalled(SIGTERM))
    }
}
