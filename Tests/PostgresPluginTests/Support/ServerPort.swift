import Foundation

/// The port a test server started with `--port 0` prints on its first line (`listening on PORT`).
enum ServerPort {
    /// Reads `process`'s first line from `output` with non-blocking read(2) and `Task.sleep`
    /// (never blocking a thread the tests share; Foundation's reads on Linux may wait for more
    /// than one line), and returns the port it ends with. The wait bounds only a hang: a busy
    /// machine can leave the task unscheduled for a long time, so the pipe is read once more after
    /// the deadline before giving up. A server that does not print it is killed, and the error
    /// says what was read, after how long, and whether the process had exited.
    static func read(_ name: String, process: Process, output: Pipe, within seconds: Double = 120) async throws -> Int {
        let descriptor = output.fileHandleForReading.fileDescriptor
        _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
        var line = Data()
        var buffer = [UInt8](repeating: 0, count: 256)
        let started = Date()
        var ended = false
        func readAvailable() {
            while !line.contains(UInt8(ascii: "\n")) {
                let count = Foundation.read(descriptor, &buffer, buffer.count)
                guard count > 0 else {
                    ended = count == 0
                    return
                }
                line.append(contentsOf: buffer[0 ..< count])
            }
        }
        readAvailable()
        while !line.contains(UInt8(ascii: "\n")), !ended, Date().timeIntervalSince(started) < seconds {
            try await Task.sleep(for: .milliseconds(10))
            readAvailable()
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            let state = process.isRunning ? "still running" : "exited with \(process.terminationStatus)"
            kill(process.processIdentifier, SIGKILL)
            let waited = String(format: "%.1f", Date().timeIntervalSince(started))
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey:
                "\(name) did not print its port within \(waited) s (\(state), output closed: \(ended)): \"\(text)\""])
        }
        return port
    }
}
