import Foundation
import SluiceWire
import Testing
@testable import SluiceSDK

/// The reader thread: a large payload is read straight into place once its header arrived,
/// whatever pieces it comes in, and input ending inside it is a truncated frame.
@Suite struct FrameReaderTests {
    private func payload(_ count: Int, seed: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }

    /// Starts a reader of `pipe` that hands over each payload as it is.
    private func reader(_ pipe: Pipe) -> FrameReader<[UInt8]> {
        let reader = FrameReader<[UInt8]>(handle: pipe.fileHandleForReading, maxFrameSize: 8 << 20, decode: { $0 })
        reader.start(name: "frame-reader-test")
        return reader
    }

    /// Writes `bytes` to the pipe in pieces of `piece` bytes from another thread, pausing
    /// between them so the reader meets partial frames, then closes it.
    private func write(_ bytes: [UInt8], piece: Int, to pipe: Pipe) {
        let handle = pipe.fileHandleForWriting
        Thread.detachNewThread {
            var start = 0
            while start < bytes.count {
                let end = min(start + piece, bytes.count)
                handle.write(Data(bytes[start..<end]))
                start = end
                usleep(200)
            }
            try? handle.close()
        }
    }

    @Test("small and large payloads, in pieces of every kind of size, arrive whole and in order")
    func payloadsArriveWhole() async throws {
        let payloads = [payload(10, seed: 1), payload(3 << 20, seed: 2), payload(FrameReader<[UInt8]>.directReadMinimum, seed: 3),
                        payload(0, seed: 4), payload(200_000, seed: 5), payload(70_000, seed: 6)]
        var stream: [UInt8] = []
        for payload in payloads { Frame.append(payload: payload, to: &stream) }
        for piece in [1 << 20, 100_003, 4096] {
            let pipe = Pipe()
            let reader = reader(pipe)
            write(stream, piece: piece, to: pipe)
            var received: [[UInt8]] = []
            while let event = await reader.queue.next() {
                guard case .message(let payload) = event else {
                    Issue.record("pieces of \(piece) bytes: \(event)")
                    break
                }
                received.append(payload)
            }
            #expect(received == payloads, "pieces of \(piece) bytes")
        }
    }

    @Test("input ending inside a large payload is a truncated frame, named by its number and offset")
    func truncatedLargePayload() async throws {
        let first = payload(100, seed: 1)
        let stream = Frame.encode(first) + Frame.encode(payload(1 << 20, seed: 2)).prefix(Frame.headerSize + 300_000)
        let pipe = Pipe()
        let reader = reader(pipe)
        write(stream, piece: 50_000, to: pipe)
        var events: [InboundEvent<[UInt8]>] = []
        while let event = await reader.queue.next() { events.append(event) }
        #expect(events.count == 2)
        guard case .message(let payload)? = events.first, case .protocolError(let error)? = events.last else {
            Issue.record("unexpected events: \(events)")
            return
        }
        #expect(payload == first)
        #expect(error.code == .truncatedFrame)
        #expect(error.frameNumber == 2)
        #expect(error.byteOffset == Frame.headerSize + 100)
        #expect(error.message == "input ended \(Frame.headerSize + 300_000) bytes into a frame")
    }
}
