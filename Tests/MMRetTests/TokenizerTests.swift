import Foundation
import Testing
@testable import MMRet

/// Token ids against transformers 4.45.2 CLIPTokenizerFast on the golden corpus and on
/// hand-picked cases.
struct TokenizerTests {
    @Test func corpusIsLargeEnough() throws {
        let cases = try TokenizerTestSupport.goldenCases.get()
        #expect(cases.count >= 500)
    }

    @Test(arguments: [77, 75])
    func corpusMatchesReference(maxLength: Int) throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        let cases = try TokenizerTestSupport.goldenCases.get()
        let mismatches = TokenizerTestSupport.mismatches(of: tokenizer, cases: cases, maxLength: maxLength) {
            maxLength == 77 ? $0.ids77 : $0.ids75
        }
        for message in mismatches.prefix(20) {
            Issue.record(Comment(rawValue: message))
        }
        #expect(mismatches.count == 0, "\(mismatches.count) of \(cases.count) texts differ")
    }

    @Test func emptyTextGivesSpecialTokens() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        #expect(tokenizer.encode("") == [49406, 49407])
        #expect(tokenizer.encode(" \t\n") == [49406, 49407])
    }

    @Test func knownCaption() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        // CLIPTokenizerFast("a photo of a cat")["input_ids"]
        #expect(tokenizer.encode("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407])
    }

    @Test func truncationKeepsFirstTokens() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        let text = String(repeating: "cat ", count: 100)
        let ids77 = tokenizer.encode(text)
        let ids10 = tokenizer.encode(text, maxLength: 10)
        #expect(ids77.count == 77)
        #expect(ids77.first == 49406)
        #expect(ids77.last == 49407)
        #expect(ids10 == [49406] + Array(repeating: 2368, count: 8) + [49407])
        #expect(tokenizer.encode(text, maxLength: 2) == [49406, 49407])
    }

    @Test func specialTokenLiteralsAreMatchedAfterLowercasing() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        #expect(tokenizer.encode("<|ENDOFTEXT|>") == [49406, 49407, 49407])
        #expect(tokenizer.encode("a<|startoftext|>") == [49406, 320, 49406, 49407])
    }

    @Test func batchMatchesSingle() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        let texts = try TokenizerTestSupport.goldenCases.get().map(\.text)
        for threadCount in [1, 2, 3] {
            let batch = tokenizer.encodeBatch(texts, maxLength: 75, threadCount: threadCount)
            let single = texts.map { tokenizer.encode($0, maxLength: 75) }
            #expect(batch.ids == single, "threadCount \(threadCount)")
            #expect(batch.lengths == single.map(\.count), "threadCount \(threadCount)")
        }
    }

    @Test func emptyBatch() throws {
        let tokenizer = try TokenizerTestSupport.tokenizer.get()
        let batch = tokenizer.encodeBatch([], maxLength: 77)
        #expect(batch.ids.isEmpty)
        #expect(batch.lengths.isEmpty)
    }
}
