import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeForSpeech } from './normalize.ts';
import { cardinal, digitRun, ordinal, year } from './numbers.ts';

describe('speech text normalization', () => {
  it('says numbers as words', () => {
    assert.equal(cardinal('0'), 'zero');
    assert.equal(cardinal('42'), 'forty-two');
    assert.equal(
      cardinal('1234567'),
      'one million two hundred thirty-four thousand five hundred sixty-seven',
    );
    assert.equal(cardinal('1000000000000'), 'one trillion');
    assert.equal(ordinal('1'), 'first');
    assert.equal(ordinal('22'), 'twenty-second');
    assert.equal(ordinal('40'), 'fortieth');
    assert.equal(ordinal('113'), 'one hundred thirteenth');
    assert.equal(year('1984'), 'nineteen eighty-four');
    assert.equal(year('2005'), 'two thousand five');
    assert.equal(year('2024'), 'twenty twenty-four');
    assert.equal(year('1900'), 'nineteen hundred');
    assert.equal(year('1905'), 'nineteen oh five');
  });

  const cases: [string, string][] = [
    ['I have 3 cats and 1,250 fish.', 'I have three cats and one thousand two hundred fifty fish.'],
    ['Pi is 3.14.', 'Pi is three point one four.'],
    ['It was -5 outside.', 'It was minus five outside.'],
    ['Meet me at 10:30.', 'Meet me at ten thirty.'],
    ['At 9:05 am or 5 p.m. sharp.', 'At nine oh five a m or five p m sharp.'],
    ['Doors open at 7:00.', "Doors open at seven o'clock."],
    ['Born 1984-05-01.', 'Born May first, nineteen eighty-four.'],
    ['Due 12/25/2024.', 'Due December twenty-fifth, twenty twenty-four.'],
    ['On March 3, 2021 we met.', 'On March third, twenty twenty-one we met.'],
    ['On 4 July 1776 it began.', 'On the fourth of July, seventeen seventy-six it began.'],
    ['It costs $5.50 today.', 'It costs five dollars and fifty cents today.'],
    ['Only $1 left.', 'Only one dollar left.'],
    ['A $2.5 million deal.', 'A two point five million dollars deal.'],
    ['Tickets are €20 or £3.75.', 'Tickets are twenty euros or three pounds and seventy-five pence.'],
    ['Growth was 12.5% this year.', 'Growth was twelve point five percent this year.'],
    ['Run 5 km at 12 km/h.', 'Run five kilometers at twelve kilometers per hour.'],
    ['It weighs 1 kg.', 'It weighs one kilogram.'],
    ['Heat to 180°C.', 'Heat to one hundred eighty degrees Celsius.'],
    ['She came 2nd and he came 21st.', 'She came second and he came twenty-first.'],
    ['Music of the 1990s.', 'Music of the nineteen nineties.'],
    ['Founded in 1887.', 'Founded in eighteen eighty-seven.'],
    ['Dr. Smith lives on Baker St. nearby.', 'Doctor Smith lives on Baker Street nearby.'],
    ['Mr. and Mrs. Jones, e.g. the neighbours.', 'Mister and Missus Jones, for example, the neighbours.'],
    ['See No. 5 vs. No. 6.', 'See number five versus number six.'],
    [
      'Visit https://www.example.com/docs/intro?x=1 today.',
      'Visit example dot com slash docs slash intro today.',
    ],
    ['Mail ada.l@example.org now.', 'Mail ada dot l at example dot org now.'],
    ['Call 555-123-4567.', 'Call five five five, one two three, four five six seven.'],
    ['Pages 10-20 and 1/2 a cup.', 'Pages ten to twenty and one half a cup.'],
    ['Tom & Jerry + friends = fun', 'Tom and Jerry plus friends equals fun'],
    ['Great job 🎉👍🏽 see you!', 'Great job see you!'],
    ['Agent 007 reporting.', 'Agent zero zero seven reporting.'],
    ['Version 1.2.3 is out.', 'Version one point two point three is out.'],
    ['Ｆｕｌｌｗｉｄｔｈ １２', 'Fullwidth twelve'],
  ];
  for (const [input, expected] of cases) {
    it(`reads "${input}"`, () => assert.equal(normalizeForSpeech(input), expected));
  }

  it('never lets a long digit run through', () => {
    assert.equal(digitRun('9'.repeat(300)), 'a three hundred-digit number');
    for (const text of [
      '9'.repeat(300),
      `$${'9'.repeat(300)}`,
      `${'9'.repeat(300)}%`,
      `0.${'1'.repeat(400)}`,
      `${'9,999'.repeat(100)}`,
      `${'1.2.'.repeat(100)}`,
      `${'9'.repeat(300)}th`,
      `${'9'.repeat(300)} km`,
      `${'a'.repeat(1000)}`,
    ]) {
      const out = normalizeForSpeech(text);
      assert.doesNotMatch(out, /\d/, `no digits left in ${text.slice(0, 20)}...`);
      assert.ok(
        Math.max(...out.split(/\s+/).map((w) => w.length)) <= 40,
        `no long token from ${text.slice(0, 20)}`,
      );
    }
  });

  it('keeps plain prose as it is', () => {
    const prose = "Hello! Shall we take a look at the old mill? It's a fine day, isn't it.";
    assert.equal(normalizeForSpeech(prose), prose);
  });
});
