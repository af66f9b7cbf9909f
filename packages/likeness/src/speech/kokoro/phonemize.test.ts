import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { espeakToKokoro, KokoroPhonemizer, splitPunctuation } from './phonemize.ts';

describe('Kokoro phonemes', () => {
  it("maps espeak's IPA (ties as U+200D) to misaki's symbols, per accent", () => {
    // "hello there, my friend" from `espeak-ng --ipa=3 -v en-us`
    assert.equal(espeakToKokoro('həlˈo\u200dʊ ðˈɛ\u200dɹ ma\u200dɪ fɹˈɛnd', 'en-us'), 'həlˈO ðˈɛɹ mI fɹˈɛnd');
    // US drops length marks and writes r-coloured vowels out; British keeps length and its own diphthong.
    assert.equal(espeakToKokoro('wˈɜːd bˈɜːɹd tʃˈe\u200dɪndʒ', 'en-us'), 'wˈɜɹd bˈɜɹd ʧˈAnʤ');
    assert.equal(espeakToKokoro('həlˈə\u200dʊ fˈɑːðə', 'en-gb'), 'həlˈQ fˈɑːðə');
  });

  it('keeps punctuation beside the words (espeak would drop it)', () => {
    assert.deepEqual(splitPunctuation('Hello there, my friend! Ready?'), [
      { words: 'Hello there' },
      { punct: ',' },
      { words: 'my friend' },
      { punct: '!' },
      { words: 'Ready' },
      { punct: '?' },
    ]);
  });

  describe('with espeak-ng', () => {
    const phonemizer = new KokoroPhonemizer();
    after(() => phonemizer.close());

    it('phonemizes clause by clause from one long-lived espeak-ng, punctuation kept', async () => {
      assert.equal(await phonemizer.phonemize('Hello there, my friend.', 'en-us'), 'həlˈO ðˈɛɹ, mI fɹˈɛnd.');
      // Requests in flight together come back in order, each with its own words.
      const [a, b, c] = await Promise.all([
        phonemizer.phonemize('One, two.', 'en-us'),
        phonemizer.phonemize('Good morning!', 'en-gb'),
        phonemizer.phonemize('Three.', 'en-us'),
      ]);
      assert.equal(a, 'wˈʌn, tˈu.');
      assert.equal(b, 'ɡˈʊd mˈɔːnɪŋ!');
      assert.equal(c, 'θɹˈi.');
    });

    it('words that sound like an internal marker cost only their own request; the next stay aligned', async () => {
      const said = [
        'Zebra quagga okapi',
        'walrus narwhal pangolin',
        'axolotl wombat ibex',
        'Hello',
        'Nice day',
      ];
      const out = await Promise.all(said.map((t) => phonemizer.phonemize(t, 'en-us')));
      assert.equal(out[3], 'həlˈO');
      assert.equal(out[4], 'nˈIs dˈA');
      const again = await phonemizer.phonemize('Good night.', 'en-us');
      assert.equal(again, 'ɡˈʊd nˈIt.');
    });

    it('a dead espeak-ng fails the request in flight, and the next one starts a new process', async () => {
      const broken = new KokoroPhonemizer('/nonexistent/espeak-ng');
      await assert.rejects(broken.phonemize('Hello.', 'en-us'), /espeak-ng could not run/);
      broken.close();
    });
  });
});
