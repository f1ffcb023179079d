"""Build the demo AlignX-format dataset shipped in src/alignx/data/demo/ (train.jsonl, test.jsonl).

Every text below is original, hand-written content (no official AlignX data is used). Records are
assembled from per-dimension pools by a seeded generator, so reruns give byte-identical files.
Run from the repository root:  .venv/bin/python tools/build_demo_data.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

N_DIMENSIONS = 90
SEED = 20250917
N_PAIR = 4  # Pair-wise Comparative Feedback items per record
N_UGC = 4  # User-Generated Content items per record
USERS_PER_POLE = 6  # per dimension: 6 users prefer the positive pole, 6 the negative pole

# Each dimension holds:
#   posts: (post, positive-pole response, negative-pole response); 14 per dimension
#   ugc:   (post, positive-pole comment, negative-pole comment); 8 per dimension
#   demo:  (6 positive-pole user descriptions, 6 negative-pole user descriptions)
POOLS: dict[int, dict] = {}

# 16  maslow_social  Concise communication style / Detailed communication style
POOLS[16] = {
    "posts": [
        (
            "How long should I boil an egg for a jammy yolk?",
            "Six and a half minutes in boiling water, then straight into ice water.",
            "Lower the egg into water that is already at a rolling boil and cook it for six and a half "
            "minutes, adding thirty seconds for large eggs. Then move it straight into an ice bath for "
            "two minutes so it stops cooking. The white will be fully set while the yolk stays soft and jammy.",
        ),
        (
            "What's the best way to get over jet lag after a long flight east?",
            "Get morning sunlight, stay up until local bedtime, and skip long naps.",
            "Start shifting your bedtime an hour earlier a few days before you fly. On arrival, get outside "
            "in morning light, which resets your body clock fastest, and keep any nap under twenty minutes. "
            "Stay up until a normal local bedtime, and go easy on caffeine after lunch.",
        ),
        (
            "My laptop has become really slow. What should I try first?",
            "Restart it, disable startup apps, and free up some disk space.",
            "Restart it first, since a machine left running for weeks piles up background processes, then "
            "open the task manager to see what is eating memory or CPU. Disable apps that launch at startup "
            "and keep at least fifteen percent of the disk free. If it is still slow, install pending "
            "updates and run a malware scan.",
        ),
        (
            "How do I ask my manager for a raise?",
            "Book a meeting, bring your results and a number, and ask directly.",
            "Schedule a dedicated meeting rather than raising it in passing, and beforehand list your "
            "concrete results from the past year and look up salary ranges for your role. In the meeting, "
            "lead with the value you have added and state a specific figure. If the answer is no, ask what "
            "it would take by your next review.",
        ),
        (
            "Any tips for keeping a basil plant alive indoors?",
            "Sunny window, water when the topsoil is dry, pinch off the flowers.",
            "Basil wants at least six hours of light, so a south-facing window is ideal. Water when the top "
            "centimetre of soil feels dry, and use a pot that drains so the roots never sit in water. Pinch "
            "off the top leaves and any flower buds regularly, which keeps the plant bushy and the leaves sweet.",
        ),
        (
            "What should I pack for a weekend hiking trip?",
            "Layers, rain jacket, water, snacks, map, headlamp, first-aid kit.",
            "Pack layers: a base layer that wicks sweat, a warm fleece and a waterproof jacket, because "
            "mountain weather turns quickly. Bring two litres of water, calorie-dense snacks, a paper map in "
            "case your phone dies, and a headlamp in case you finish late. A small first-aid kit with "
            "blister plasters rounds it out.",
        ),
        (
            "How often should I take my dog to the vet?",
            "Once a year for a checkup, twice a year once he's a senior.",
            "Most adult dogs need one wellness exam a year, where the vet checks weight, teeth, heart and "
            "joints and updates vaccines. Puppies need several visits in their first months to complete "
            "their vaccine series. Dogs over about seven benefit from a checkup every six months, because "
            "blood work catches problems like kidney disease early.",
        ),
        (
            "What is the quickest way to learn basic Spanish before a trip?",
            "Fifteen minutes of an app daily, plus the hundred most useful travel phrases.",
            "With a few weeks to go, focus on survival phrases: greetings, numbers, ordering food and asking "
            "directions. Spend fifteen minutes a day on an app for vocabulary, then practise out loud with "
            "short podcasts so your ear gets used to the speed. A small handwritten cheat sheet of the "
            "phrases you will actually need helps them stick.",
        ),
        (
            "Should I use a credit card or a debit card for everyday spending?",
            "Credit card, as long as you pay it off in full every month.",
            "A credit card usually gives better fraud protection and rewards, and light use builds your "
            "credit history. The catch is discipline: if you ever carry a balance, the interest wipes out "
            "any rewards. If you tend to overspend, a debit card keeps you within what you actually have, "
            "which may be worth more than the points.",
        ),
        (
            "How do I get my toddler to sleep through the night?",
            "Same bedtime routine every night, and keep night wake-ups boring.",
            "Consistency matters most, so build a short routine, like bath, pyjamas, two books and lights "
            "out, and run it at the same time every night. When your toddler wakes, keep the visit calm, dim "
            "and brief so waking up is not rewarding. Also cut screens an hour before bed and make sure the "
            "afternoon nap does not run too late.",
        ),
        (
            "What's a good way to start running if I've never done it?",
            "Alternate one minute running and two walking, three times a week.",
            "Start with a run-walk plan: one minute of easy running and two minutes of walking, repeated for "
            "twenty minutes, three days a week, lengthening the running a little each week. Go slowly enough "
            "that you can still talk, and get fitted for proper shoes. Take rest days seriously, since most "
            "beginner injuries come from doing too much too soon.",
        ),
        (
            "How should I prepare for a job interview tomorrow?",
            "Research the company, rehearse three stories, sleep early.",
            "Tonight, read the company's website and recent news so you can explain why you want this role. "
            "Prepare three short stories about problems you solved, each with the situation, your action "
            "and the result, and practise them aloud. Then lay out your clothes, check the route or video "
            "link, and get a full night's sleep.",
        ),
        (
            "How do I remove a red wine stain from a carpet?",
            "Blot, add cold water and salt, blot again, then vacuum.",
            "Act quickly and blot, never rub, with a clean cloth, then pour on a little cold water and keep "
            "blotting to lift the wine. Cover the spot with salt or baking soda, let it draw out the moisture "
            "for an hour, and vacuum. For a stubborn mark, dish soap mixed with hydrogen peroxide usually "
            "finishes the job.",
        ),
        (
            "Is it worth learning to type faster, and how?",
            "Yes. Ten minutes a day on a typing site, eyes off the keys.",
            "Yes, because you type every day and the minutes add up. Learn proper finger placement on the "
            "home row, then practise ten to fifteen minutes daily on a typing trainer without looking at the "
            "keys, even when that slows you down at first. Accuracy comes before speed, and within a month "
            "most people gain around twenty words per minute.",
        ),
    ],
    "ugc": [
        (
            "Share your favourite weeknight dinner.",
            "Fried rice. Leftovers, an egg, soy sauce. Done.",
            "Mine is a tray bake: I chop whatever vegetables are in the fridge, toss them with chickpeas, "
            "olive oil, cumin and smoked paprika, and roast everything for half an hour. A spoon of yogurt "
            "and some lemon on top, one tray to wash, and it feeds us twice.",
        ),
        (
            "What do you think of the new office seating plan?",
            "Fine by me. Quieter corner, fewer interruptions.",
            "I have mixed feelings. Sitting next to the design team means my questions get answered faster, "
            "but the kitchen is now right behind me, so there is constant chatter around lunchtime. I would "
            "add a couple of quiet booths for focused work before calling the plan final.",
        ),
        (
            "Post a photo from your last trip and tell us about it.",
            "Lisbon. Great tiles, steep hills, best custard tarts.",
            "This is the view from the castle in Lisbon on our third day. We took the old tram up the hill, "
            "which was crowded but worth it, then walked down through Alfama and stopped for grilled "
            "sardines. The late-afternoon light turns every tiled wall gold, which is why I took two hundred photos.",
        ),
        (
            "How do you keep your inbox under control?",
            "Two folders, inbox zero daily, unsubscribe from everything.",
            "I check email three times a day instead of constantly. Anything that takes under two minutes "
            "gets answered right away, and everything else goes into a follow-up folder that I review on "
            "Friday afternoons. Once a month I also unsubscribe from newsletters I never read, which cut my "
            "incoming mail almost in half.",
        ),
        (
            "What's one habit that improved your mornings?",
            "Phone charges in the kitchen overnight.",
            "Leaving my phone to charge in the kitchen overnight. Without it next to the bed I stopped "
            "scrolling the moment I woke up, so now I make coffee, stretch for five minutes and write a short "
            "plan for the day before I see a single message.",
        ),
        (
            "Anyone else struggling to fix a leaky tap?",
            "Swap the washer. Five-minute job.",
            "It is usually the washer or the cartridge. Turn off the water under the sink, plug the drain so "
            "no small parts vanish, then unscrew the handle and take the old washer to a hardware store to "
            "match the size exactly. Reassemble, turn the water back on slowly, and check for drips.",
        ),
        (
            "What did you get your dad for his birthday?",
            "A good pocket knife. He loved it.",
            "We gave him a day out rather than a thing: a morning fishing lesson on the lake near his house, "
            "then lunch at the pub he used to visit in his twenties. He already has every gadget he wants, "
            "and he told stories about his own father the whole afternoon.",
        ),
        (
            "Tips for a first-time blood donor?",
            "Eat, drink water, sit a while after.",
            "Eat a proper meal with some iron in it a few hours before, drink an extra half litre of water, "
            "and wear sleeves that roll up easily. Tell the nurse it is your first time so they keep an eye "
            "on you, and stay for the juice and biscuits afterwards, because getting up too fast is what "
            "makes people faint.",
        ),
    ],
    "demo": (
        [
            "A 38-year-old emergency room nurse who reads messages between patients and answers in a few words.",
            "An air traffic controller who likes instructions that fit on one line. He skims everything and "
            "has no patience for padding.",
            "A busy father of three who runs a plumbing business and wants the answer first and nothing else.",
            "A software engineer in her late twenties who writes terse commit messages and skims long emails "
            "for the one sentence that matters.",
            "A retired army logistics officer who values getting to the point; his own texts rarely run "
            "past ten words.",
            "A university student juggling two part-time jobs who reads answers on her phone between shifts "
            "and wants them brief.",
        ],
        [
            "A 52-year-old history teacher who enjoys thorough explanations and always wants to know the "
            "reasons behind an answer.",
            "A technical writer who appreciates step-by-step instructions with context, caveats and examples.",
            "A retired engineer with plenty of time who reads every answer carefully and prefers the full "
            "picture to a quick tip.",
            "A PhD student in biology who takes careful notes and likes explanations that walk through each "
            "step and why it matters.",
            "A first-time homeowner in her thirties who wants every step spelled out before she tries "
            "anything herself.",
            "A hospital pharmacist who double-checks everything and trusts advice more when it explains the "
            "how and the why in full.",
        ],
    ),
}

# 73  interests  Likes humor / Dislikes humor
POOLS[73] = {
    "posts": [
        (
            "My cat keeps knocking things off my desk while I work. How do I stop it?",
            "Congratulations, you employ a tiny gravity inspector. Give her a perch or a cat bed next to the "
            "desk so she can supervise from there, and keep the mugs out of paw range.",
            "Put a cat bed or perch next to your desk so she has her own spot near you, keep breakable items "
            "out of reach, and schedule a short play session before you start working.",
        ),
        (
            "I burned the rice again. How do people cook it properly?",
            "Ah, the classic rice-flavoured charcoal. Rinse it, use one and a half cups of water per cup, and "
            "simmer covered on the lowest heat for fifteen minutes. Then let it rest and don't peek; rice is shy.",
            "Rinse the rice and use about one and a half cups of water per cup of rice. Bring it to a boil, "
            "cover, and simmer on the lowest heat for fifteen minutes, then let it rest off the heat for ten "
            "minutes without lifting the lid.",
        ),
        (
            "How can I stay awake during afternoon meetings?",
            "Play meeting bingo with 'circle back' as the free square. Also drink water, stand when you can, "
            "and skip the heavy pasta lunch that turns you into a sleepy lizard.",
            "Eat a lighter lunch with protein rather than heavy carbohydrates, drink water, stand or stretch "
            "when you can, and take notes actively so you stay engaged.",
        ),
        (
            "What's a good gift for a coworker who is retiring?",
            "Something for their new full-time job of doing nothing: a hammock, a fancy coffee maker, or a "
            "mug that says 'Officially not my problem'. A card full of team inside jokes never misses.",
            "A framed photo of the team, a card with personal messages from colleagues, or something linked "
            "to a hobby they plan to pursue, such as gardening tools or a cookbook.",
        ),
        (
            "I'm nervous about giving a wedding toast next month. Any advice?",
            "Keep it under three minutes; nobody has ever complained a toast was too short. Open with one "
            "gentle story about the couple and rehearse it. Remember the guests have been drinking, so "
            "they're a very generous audience.",
            "Keep it under three minutes, write it out and rehearse it several times, open with a short "
            "personal story about the couple, and close by inviting everyone to raise a glass.",
        ),
        (
            "How do I get my teenager to clean their room?",
            "Tell them a new species of sock is evolving under the bed and you'd like to see it before it "
            "learns to talk. Then agree on a weekly deadline tied to something they care about, like the "
            "Wi-Fi password.",
            "Agree on a clear standard of what clean means, set a weekly deadline, and link it to privileges "
            "such as screen time or going out. Stay consistent and avoid nagging in between.",
        ),
        (
            "Is it normal that my code works and I don't know why?",
            "Completely normal, and also the scariest sentence in software. Write a test that pins down what "
            "it does now, then step through it with a debugger before it decides to stop working on a Friday.",
            "It happens often. Write tests that capture the current behaviour, then step through the code "
            "with a debugger or add logging until you understand each part, and document what you learn.",
        ),
        (
            "Any tips for surviving a long-haul flight in economy?",
            "Embrace your new life as a folded lawn chair. Get an aisle seat, bring a neck pillow and "
            "headphones, drink water, and walk the aisle every couple of hours so your legs remember they exist.",
            "Choose an aisle seat, bring a neck pillow and earplugs, drink plenty of water, avoid alcohol, "
            "and walk the aisle every two hours to keep your circulation going.",
        ),
        (
            "My houseplants keep dying. What am I doing wrong?",
            "You might be loving them to death, literally. Overwatering is the top plant killer, so water "
            "only when the top inch of soil is dry. And maybe stop naming them until they survive a month.",
            "Overwatering is the most common cause. Water only when the top few centimetres of soil are dry, "
            "make sure the pots have drainage holes, and check how much light each plant needs.",
        ),
        (
            "How do I politely tell my neighbour their dog barks all day?",
            "Bring cookies, the universal peace treaty. Mention that their dog apparently gives a full "
            "concert every day while they're out; most owners genuinely have no idea.",
            "Talk to them in person at a calm moment, explain when the barking happens and how it affects "
            "you, and ask whether they are aware. Many owners do not know their dog barks while they are out.",
        ),
        (
            "What's the best way to learn to cook as an adult?",
            "Start with five dishes you'd actually eat, not a soufflé. Follow the recipes exactly at first, "
            "then improvise. Mistakes are part of it; my first lasagne could have been used as a doorstop.",
            "Pick five simple dishes you enjoy, follow the recipes exactly at first, and cook them repeatedly "
            "until you are comfortable. Then learn basic techniques such as sautéing, roasting and seasoning.",
        ),
        (
            "How do I motivate myself to go to the gym in winter?",
            "Sleep in your gym clothes like a superhero in disguise, so half the battle is won when the alarm "
            "rings. Find a buddy who will guilt you, and reward yourself with a hot chocolate you technically earned.",
            "Lay out your gym clothes the night before, schedule workouts at fixed times, find a training "
            "partner for accountability, and track your progress so you can see results.",
        ),
        (
            "I have to wake up at 5 a.m. for a new job. How do I adjust?",
            "Welcome to the secret society of people who see sunrises. Move bedtime earlier by fifteen "
            "minutes every few days and put the alarm across the room. Your bed will miss you, but it'll cope.",
            "Move your bedtime earlier by fifteen minutes every few days, keep the same schedule at weekends, "
            "avoid screens before bed, and put the alarm across the room so you have to get up.",
        ),
        (
            "What should I do on a rainy Sunday at home?",
            "Build a blanket fort and declare it a sovereign nation. Then bake something, start a puzzle, or "
            "watch a whole film trilogy in pyjamas; the rain is basically giving you permission.",
            "Catch up on reading, cook a meal that takes time, do a jigsaw puzzle, sort out a cupboard, or "
            "plan the week ahead.",
        ),
    ],
    "ugc": [
        (
            "What's your strategy for Monday mornings?",
            "Coffee first, personality later. I also rename my to-do list 'suggestions' so it can't hurt my feelings.",
            "I plan the week on Sunday evening, so on Monday I start with the most important task before "
            "opening email.",
        ),
        (
            "Share the worst haircut you've ever had.",
            "A barber once gave me a mullet by accident. My mum still calls it my 'business meeting in "
            "front, party in the back' era.",
            "A barber once cut it far shorter than I asked. I now bring a reference photo and explain exactly "
            "what I want.",
        ),
        (
            "How do you deal with a slow internet connection?",
            "I stare at the loading bar and reflect on my life choices. Then I restart the router, the IT "
            "version of 'have you tried a nap?'",
            "I restart the router, move it to a central spot, and call the provider if the speed stays below "
            "what I pay for.",
        ),
        (
            "What's your opinion on pineapple on pizza?",
            "Ham and pineapple are in a committed relationship and I'm their biggest fan. Chaos, but delicious chaos.",
            "I don't mind it. The sweetness works with ham, but I usually order a plain margherita.",
        ),
        (
            "Tell us about your commute.",
            "Forty minutes of podcasts and one man who sings opera on the train every morning. Honestly, "
            "he's the highlight; I'd buy a season ticket.",
            "Forty minutes by train each way. I use the time to read or answer emails so my evenings stay free.",
        ),
        (
            "Describe your cooking skills in one sentence.",
            "I can make toast, and twice it was still toast and not a smoke signal.",
            "I can cook a handful of reliable meals and follow most recipes without trouble.",
        ),
        (
            "How was your first day at the new job?",
            "Got lost looking for the bathroom twice, called my boss by the wrong name, and still got a free "
            "muffin. Ten out of ten, would start again.",
            "It went well. I met the team, set up my laptop, and got an overview of the first project.",
        ),
        (
            "What do you do when your pet wakes you up at 5 a.m.?",
            "I negotiate like it's a hostage situation. He wants breakfast, I want sleep, and the cat always wins.",
            "I don't get up or feed him until my normal time, so he learns that waking me early doesn't work.",
        ),
    ],
    "demo": (
        [
            "A 29-year-old primary school teacher who fills her group chats with memes and can turn any bad "
            "day into a funny story.",
            "An IT support technician who takes improv classes at weekends and jokes his way through every "
            "help-desk ticket.",
            "A retired postman known in his village for his puns; he says laughing is the best way through anything.",
            "A marketing coordinator in her thirties who writes witty captions for her company's social media "
            "and loves a playful tone.",
            "A father of two who reads comics with his kids at bedtime and enjoys answers with a bit of wit.",
            "A 24-year-old barista who collects funny signs and finds the light side of every situation.",
        ],
        [
            "A 47-year-old tax accountant who prefers plain, serious answers and finds jokes in advice distracting.",
            "A surgeon who values precision and gets impatient when information is wrapped in banter.",
            "A retired judge who reads the newspaper front to back and expects matter-of-fact writing.",
            "An engineering manager who wants straight facts in every message and skips anything that "
            "sounds like a joke.",
            "A quiet librarian in her fifties who likes a formal, sober tone and finds wisecracks unhelpful.",
            "A graduate student in statistics who wants answers that stick to the point without playful asides.",
        ],
    ),
}

# 10  maslow_safety  Aggressive investment / Conservative investment
POOLS[10] = {
    "posts": [
        (
            "I just got a 10,000 dollar bonus. What should I do with it?",
            "Put most of it into a low-cost stock index fund, with a slice in growth or emerging-market "
            "funds. With a long horizon, time in the market beats caution.",
            "Top up your emergency fund, pay off any high-interest debt, and keep the rest in a high-yield "
            "savings account or short-term bonds. Protecting what you have matters more than chasing returns.",
        ),
        (
            "I'm 30 and just opened a retirement account. How should I allocate it?",
            "With thirty-plus years ahead, go close to 100 percent stocks, including small-cap and "
            "international funds. Volatility is your friend at this age, because you buy more when prices fall.",
            "A balanced mix, such as 60 percent stocks and 40 percent bonds or a target-date fund, keeps the "
            "swings manageable. Avoid big drops that might tempt you to panic-sell.",
        ),
        (
            "Is it smart to buy cryptocurrency right now?",
            "If you can stomach big swings, putting 10 to 15 percent of your portfolio into the major coins "
            "could pay off hugely. Buy in chunks and hold through the drawdowns.",
            "Crypto can lose half its value in weeks. If you buy any, keep it to a tiny amount you could lose "
            "entirely, and keep the core of your savings in insured accounts or broad funds.",
        ),
        (
            "We're saving for a house in five years. Where should we keep the money?",
            "Five years is enough time to take some risk: a mostly-stock index fund could grow the down "
            "payment faster, and you can move it to cash in the final year.",
            "Money you need in five years shouldn't ride the stock market. Use a high-yield savings account, "
            "certificates of deposit or government bonds so the down payment is there when you need it.",
        ),
        (
            "My friend wants me to invest in his startup. Should I?",
            "Early-stage bets are where the biggest returns come from. If you believe in him and the idea, "
            "put in a meaningful amount and negotiate a good equity stake.",
            "Most startups fail, so treat it as money you may never see again. Only invest a small amount you "
            "could lose without resentment, and get the terms in writing.",
        ),
        (
            "The stock market just dropped 15 percent. Should I do anything?",
            "This is a sale. If you have cash on the sidelines, buy more now; the best returns go to people "
            "who invest when everyone else is scared.",
            "Don't make sudden moves. Check that your emergency fund is solid and, if the drop cost you "
            "sleep, shift a bit more into bonds so your portfolio matches your comfort level.",
        ),
        (
            "Should I pay off my low-interest mortgage early or invest the extra money?",
            "Invest it. With a mortgage rate around three percent, stocks have historically returned far more "
            "over the long run, so every extra dollar works harder in the market.",
            "Paying it off early is a guaranteed return and removes your biggest debt. Being mortgage-free "
            "gives a security that no market can promise.",
        ),
        (
            "How should I invest for my newborn's college fund?",
            "You have eighteen years, so go heavy on equities, even all stocks for the first decade, and let "
            "compounding do the work before shifting closer to enrolment.",
            "Use a plan that starts balanced and moves steadily into bonds and cash, so a crash near "
            "enrolment can't wipe out the fund. Steady contributions matter more than high returns.",
        ),
        (
            "Are individual stocks better than index funds?",
            "Picking a few high-conviction companies can beat the index by a lot. Keep an index core if you "
            "like, but put a good chunk into stocks you've researched and believe in.",
            "Index funds are the safer choice: broad diversification, low fees, and most stock pickers "
            "underperform them anyway. Individual stocks concentrate your risk in a handful of companies.",
        ),
        (
            "I inherited some money from my grandmother. What's a sensible plan?",
            "Put it to work in a diversified stock portfolio tilted toward growth sectors like technology; "
            "over a few decades it could multiply.",
            "Take your time. Park it in a savings account while you decide, clear any debts, and then spread "
            "it across bonds and conservative funds so it lasts.",
        ),
        (
            "Is real estate a good investment for a beginner?",
            "Yes, especially with leverage: a small down payment on a rental property lets you control a big "
            "asset, and rent plus appreciation can build wealth quickly.",
            "It can be, but it ties up a lot of money and borrowing magnifies losses. A real estate fund "
            "gives you exposure without betting everything on one property and a large mortgage.",
        ),
        (
            "Should I keep a big cash cushion, or is that wasted money?",
            "Keep about three months of expenses and invest the rest; cash loses value to inflation every "
            "year it sits there.",
            "A cushion of six to twelve months of expenses is never wasted. It carries you through a job loss "
            "or emergency without forcing you to sell investments at a bad time.",
        ),
        (
            "What do you think about options trading to grow a small account?",
            "Options can grow a small account fast once you learn the mechanics. Start with a few "
            "defined-risk trades on stocks you follow and scale up as you get a feel for it.",
            "Options are one of the quickest ways to lose a small account. Grow it with regular contributions "
            "to a broad fund instead and leave leverage alone.",
        ),
        (
            "I'm 55. How should my investments change before retirement?",
            "You may live another thirty years, so don't abandon stocks. Keep a large equity share for growth "
            "and hold just a few years of expenses in bonds.",
            "Gradually shift into bonds and cash so a crash right before you retire can't derail you. "
            "Protecting your nest egg now matters more than growing it.",
        ),
    ],
    "ugc": [
        (
            "What's the best financial decision you ever made?",
            "Buying tech stocks during the 2020 crash while everyone was panicking. That money tripled.",
            "Building a six-month emergency fund before anything else. It got me through a layoff without "
            "touching my investments.",
        ),
        (
            "How do you feel about the housing market right now?",
            "I'm looking for a second flat to rent out. When prices dip, I buy.",
            "I'm staying put and paying down my mortgage. No reason to take on more debt in an uncertain market.",
        ),
        (
            "What would you do if you won the lottery?",
            "Put a big share into a few startups and growth stocks. Money sitting still is money wasted.",
            "Pay off the house, put most of it in government bonds, and keep living the way I do now.",
        ),
        (
            "Thoughts on savings accounts paying 4% interest?",
            "Fine for an emergency fund, but real long-term growth is in stocks, not savings accounts.",
            "Perfect for me. A guaranteed return, insured, and I never have to check the market.",
        ),
        (
            "Tell us about a money mistake you learned from.",
            "Selling in a panic during a dip. Now I hold, or I buy more.",
            "Putting money into a hyped stock a friend recommended. I lost forty percent and went back to "
            "plain savings and bonds.",
        ),
        (
            "How do you decide where your monthly savings go?",
            "Almost all of it goes into equity funds, plus a small slice for crypto and my own stock picks.",
            "Half into a savings account, half into a bond fund. Slow and steady.",
        ),
        (
            "Do you talk about money with your family?",
            "All the time. I keep trying to get my parents to move their cash out of the bank and into the market.",
            "Yes. My dad taught me never to invest what I can't afford to lose, and I still live by that.",
        ),
        (
            "What's your view on gold as an investment?",
            "Too slow for me. I'd rather own companies that grow.",
            "I keep a little as insurance. It holds its value when everything else falls.",
        ),
    ],
    "demo": (
        [
            "A 27-year-old software developer who puts most of her paycheck into growth stocks and follows "
            "the market daily.",
            "A sales manager in his thirties who owns two rental flats bought with borrowed money and is "
            "always looking for the next deal.",
            "A startup founder who has backed five early-stage companies and believes big risks bring big rewards.",
            "A day trader who checks charts before breakfast and isn't scared of a falling market.",
            "A 34-year-old consultant who keeps almost no cash and moves every spare dollar into equities "
            "and emerging markets.",
            "A nurse who taught herself investing online and tilts her retirement account toward small-cap "
            "and tech funds.",
        ],
        [
            "A 58-year-old school administrator who keeps her savings in certificates of deposit and government bonds.",
            "A father of three who lived through a layoff and now keeps a year of expenses in the bank "
            "before investing anything.",
            "A retired bus driver who only buys bonds and never touches anything he can't explain to his wife.",
            "A 41-year-old pharmacist who pays down debt first and invests only in broad, low-volatility funds.",
            "A freelance translator with an irregular income who values a large cash cushion and steady, "
            "insured savings.",
            "A civil servant raised by parents who lost their savings in a crash; she prefers guaranteed "
            "returns to gambles.",
        ],
    ),
}

# 47  interests  Likes science / Dislikes science
POOLS[47] = {
    "posts": [
        (
            "Why does my bread sometimes not rise?",
            "Yeast is a living fungus that eats sugars and releases carbon dioxide, which inflates the dough. "
            "Water above about 50°C kills it and a cold kitchen slows it, so proof the yeast in warm water "
            "first to check it's active.",
            "Usually the yeast is old or the water was too hot. Use fresh yeast and lukewarm water, and leave "
            "the dough somewhere warm under a towel; just give it time.",
        ),
        (
            "Is it worth getting a flu shot every year?",
            "Yes. The virus changes its surface proteins every season, so each year's vaccine is updated to "
            "match the predicted strains, and large studies show it substantially cuts the risk of severe illness.",
            "Most doctors recommend it, and it's quick and usually free at the pharmacy. Get it in the autumn "
            "and you can stop worrying about it for the season.",
        ),
        (
            "How can I sleep better?",
            "Your body clock is set mainly by light reaching your eyes, so bright mornings and dim evenings "
            "help melatonin rise on time. Caffeine blocks the brain's adenosine receptors for six hours or "
            "more, so cut it after noon.",
            "Keep a regular bedtime, make the room dark and cool, skip coffee in the afternoon, and wind down "
            "with a book instead of your phone. A calming routine works wonders.",
        ),
        (
            "What should I look for when buying a telescope for my kids?",
            "Aperture matters most: a wider mirror collects more light, so a 130 mm reflector shows Saturn's "
            "rings and Jupiter's moons. Add a star chart and you can show them how the planets move night to night.",
            "Pick something sturdy and easy to set up so they actually use it. A simple model on a steady "
            "stand is plenty for looking at the moon, and the family night outside is the real fun.",
        ),
        (
            "Why do my cut flowers wilt so quickly?",
            "Once cut, stems draw in air bubbles and bacteria that block the xylem, the tubes that carry "
            "water. Recut them at an angle under water and add a little sugar and a drop of bleach to feed "
            "the flowers and kill microbes.",
            "Trim the stems every couple of days, change the water often, and keep the vase away from sunny "
            "windows and the fruit bowl. Fresh water and a cool spot are all they need.",
        ),
        (
            "Is it safe to microwave food in plastic containers?",
            "Some plastics contain additives like BPA or phthalates that migrate into food when heated, "
            "especially fatty food. Microwave-safe containers have been tested for this, and glass or "
            "ceramic avoids the question entirely.",
            "Stick to containers marked microwave-safe, or just use a glass or ceramic dish to be on the safe "
            "side. It's an easy habit and you won't have to think about it again.",
        ),
        (
            "How do I keep my dog cool during a heatwave?",
            "Dogs cool down mainly by panting, relying on evaporation from the tongue and airways, and they "
            "sweat only through their paws. Wet their belly and paws, where blood vessels run close to the "
            "skin, and walk at dawn.",
            "Walk early in the morning or late in the evening, keep fresh water out, let them lie on a damp "
            "towel in the shade, and never leave them in the car.",
        ),
        (
            "What's the best way to study for exams?",
            "Memory research is clear: testing yourself beats re-reading, and spacing reviews over several "
            "days strengthens recall because each retrieval rebuilds the memory. Use flashcards and practice "
            "exams instead of highlighting.",
            "Make a schedule, go over your notes a little every day instead of cramming, and do past papers. "
            "Find a quiet spot and a routine that feels right for you.",
        ),
        (
            "Why do I get a headache when I skip my morning coffee?",
            "Caffeine narrows blood vessels in the brain; without it they widen and blood flow rises, which "
            "triggers the headache. Your brain has also grown extra adenosine receptors, so you feel "
            "sluggish for a few days.",
            "That's withdrawal, and it's common if you drink coffee daily. Cut down by half a cup every few "
            "days, drink water, and the headaches should be gone within a week.",
        ),
        (
            "Should I buy an electric car or stick with petrol?",
            "Electric motors turn about 85 to 90 percent of battery energy into motion, while a petrol engine "
            "manages around 30 percent, so running costs and lifetime emissions are far lower, even counting "
            "battery production.",
            "Think about your daily driving and whether you can charge at home. If most trips are short and "
            "you have a driveway, electric is cheap to run; otherwise petrol is simpler for now.",
        ),
        (
            "How do I get rid of fruit flies in the kitchen?",
            "Fruit flies home in on the acetic acid from fermenting fruit, so a trap of cider vinegar with a "
            "drop of dish soap works: the soap breaks the surface tension and they sink. Their life cycle is "
            "about a week, so keep it going.",
            "Throw out overripe fruit, empty the bin, and put out a small bowl of vinegar with a drop of dish "
            "soap. Keep the counters clean and they'll be gone in a few days.",
        ),
        (
            "Why does my phone battery drain faster in winter?",
            "Lithium-ion batteries depend on chemical reactions that slow down in the cold, so the ions move "
            "sluggishly and the voltage drops, which the phone reads as low charge. Warm it up and the "
            "capacity comes back.",
            "Cold weather does that to phones. Keep it in an inside pocket instead of your bag, carry a small "
            "power bank, and it'll be fine once it warms up.",
        ),
        (
            "Is it okay to drink water that sat in a plastic bottle in a hot car?",
            "Heat speeds up the migration of compounds such as antimony from PET plastic, although studies "
            "find short exposures stay below safety limits. Warmth also lets bacteria multiply if you had "
            "already drunk from it.",
            "Better not to make a habit of it. Keep a reusable bottle with you and grab fresh water when you "
            "can; a warm drink from the car isn't pleasant anyway.",
        ),
        (
            "What's a good hobby to pick up this winter?",
            "Try amateur astronomy or a home chemistry kit. Long dark nights are perfect for stargazing, and "
            "you'll learn how stars form and why the planets drift against the background.",
            "Knitting, baking or a book club are perfect for dark evenings: something cosy and hands-on you "
            "can enjoy without having to study up on it.",
        ),
    ],
    "ugc": [
        (
            "What did you watch last weekend?",
            "A documentary on black holes and how the first one was imaged. I paused it five times to look "
            "up the research behind it.",
            "A romantic comedy with my sister. Nice to switch off and not have to learn anything for once.",
        ),
        (
            "What's your favourite museum?",
            "The natural history museum. I spent two hours in the evolution gallery alone.",
            "A little costume museum in an old town. Beautiful dresses and no plaques full of numbers.",
        ),
        (
            "What podcast do you listen to on your commute?",
            "A physics podcast that walks through one new research paper each episode.",
            "A true-crime show. I tried a science one once but it made my head spin.",
        ),
        (
            "What's something you learned this week?",
            "Octopuses have neurons in their arms, so each arm can partly decide things on its own. Fascinating.",
            "How to make proper pie crust from my grandmother's recipe. That's all the learning I need.",
        ),
        (
            "Which class did you like least at school?",
            "Honestly none, but chemistry labs were my favourite. Watching reactions happen felt like magic.",
            "Physics. All those formulas and none of them ever mattered in real life.",
        ),
        (
            "How do you choose which news stories to read?",
            "I go straight to the science and health sections, especially write-ups of new studies.",
            "I skip anything with charts or lab results and read local news and human-interest stories.",
        ),
        (
            "What's your dream vacation?",
            "Watching a total solar eclipse from somewhere remote, then touring an observatory.",
            "A beach hotel with a pool and absolutely nothing to think about.",
        ),
        (
            "Share a gadget you love.",
            "My home weather station. I log the air pressure every day and compare it with the forecasts.",
            "My coffee machine. I have no idea how it works and I don't need to.",
        ),
    ],
    "demo": (
        [
            "A 33-year-old lab technician who reads research news in her free time and loves understanding "
            "how things work.",
            "A retired physics teacher who still builds experiments with his grandchildren in the garage.",
            "An engineering student who watches astronomy lectures at night and subscribes to two "
            "popular-science magazines.",
            "A nurse who likes to know the biology behind every treatment she gives.",
            "A hobby beekeeper and amateur astronomer who asks 'but why?' about everything.",
            "A 45-year-old software architect who spends weekends at science centres with his kids.",
        ],
        [
            "A 50-year-old florist who trusts experience and tradition more than lab studies and finds "
            "technical explanations tedious.",
            "A bakery owner who hated chemistry at school and prefers practical tips without the theory.",
            "A retired shop assistant who gets bored by technical detail and just wants to know what to do.",
            "A 26-year-old fashion stylist who tunes out as soon as a conversation turns to experiments or formulas.",
            "A country musician who goes by gut feeling and home remedies rather than research papers.",
            "A busy mother who runs a dance studio and finds scientific jargon off-putting.",
        ],
    ),
}

# 23  murray_needs  Strong need for Order / Indifferent to orderliness
POOLS[23] = {
    "posts": [
        (
            "How do you organize a small kitchen?",
            "Divide it into zones for prep, cooking and cleaning, and keep dry goods in labelled clear "
            "containers. Give every item a fixed spot so it always goes back to the same place.",
            "Keep what you use daily within reach and don't stress about the rest. Hooks for the pans and one "
            "drawer for odds and ends work fine; a bit of clutter just means it's a working kitchen.",
        ),
        (
            "I'm planning a two-week trip to Japan. How should I plan it?",
            "Build a day-by-day itinerary in a spreadsheet with cities, train times, hotels and confirmation "
            "numbers. Book everything in advance and keep printed copies together in one folder.",
            "Book the flight and your first couple of nights, then wing it. The trains are easy, and the best "
            "days often come from wandering wherever looks interesting.",
        ),
        (
            "What's a good way to keep track of household bills?",
            "Keep a spreadsheet of every bill with its due date and amount, automate payments, and review it "
            "on the first Sunday of each month. File each statement in a labelled folder.",
            "Turn on autopay for everything and glance at your bank app now and then. As long as nothing "
            "bounces, there's no need for a big system.",
        ),
        (
            "How should I arrange my home office?",
            "Keep the desk clear, tie and hide the cables, and use a drawer organizer for pens and chargers. "
            "Labelled trays for incoming and finished papers keep everything in its place.",
            "Put the desk near a window and keep whatever you use within arm's reach. Piles are fine as long "
            "as you can find things; creative mess is still productive.",
        ),
        (
            "My kids' toys are everywhere. Any advice?",
            "Use labelled bins by category, with pictures for kids who can't read yet, and do a ten-minute "
            "tidy-up before dinner every day. Rotate toys so only a few bins are out at once.",
            "A big basket in each room for a quick sweep at bedtime is enough. Kids play, houses get messy, "
            "and that's okay.",
        ),
        (
            "How do you plan meals for the week?",
            "Write a seven-day plan on a whiteboard every Saturday, build the shopping list by supermarket "
            "aisle, and prep ingredients into labelled containers on Sunday.",
            "Buy what looks good at the market and decide each evening what to make. It keeps cooking fun "
            "and flexible.",
        ),
        (
            "How do I manage tasks at work when everything feels urgent?",
            "Put every task into one list, sort it by deadline and importance, and block calendar time for "
            "the top three. Review the list at the same time every morning.",
            "Pick whatever feels most pressing and just start. Priorities shift so fast that going with the "
            "flow often works better than a rigid list.",
        ),
        (
            "How do you keep the photos on your phone organized?",
            "Once a month, sort new photos into albums by date and event, delete duplicates, and back them up "
            "into folders named year, month and event.",
            "I don't really bother. Everything stays in the camera roll, and search finds what I need when I "
            "type 'beach' or 'dog'.",
        ),
        (
            "Any advice for moving house?",
            "Start a packing schedule a month ahead, one room at a time. Number every box, list its contents "
            "in a spreadsheet, and colour-code the boxes by destination room.",
            "Grab some boxes, throw things in, and sort it out at the new place. It always works out, and "
            "unpacking is half the adventure.",
        ),
        (
            "How should I study for a certification exam?",
            "Break the syllabus into weekly modules, schedule every study session in your calendar, and track "
            "progress on a checklist. Keep your notes in one binder with tabbed sections.",
            "Read through the material when you have time, do a few practice tests, and learn whatever you "
            "got wrong. No need for a strict schedule.",
        ),
        (
            "How do you keep your wardrobe under control?",
            "Fold everything the same way, sort by type and colour, and use drawer dividers. Each season, "
            "rotate clothes into labelled storage boxes.",
            "Hang the things you wear most and pile the rest on a shelf. If you can find a clean shirt in the "
            "morning, that's organized enough.",
        ),
        (
            "What's the best way to run a family calendar?",
            "Use one shared digital calendar with a colour for each person, enter all recurring events at the "
            "start of term, and check it together every Sunday evening.",
            "Just tell each other what's on over breakfast. If someone forgets, you sort it out; life's too "
            "short for calendar admin.",
        ),
        (
            "How should I organize the files on my computer?",
            "Create a fixed folder tree such as Work, Personal and Finance with subfolders by year, and name "
            "files by date, project and version. Empty the downloads folder every week.",
            "Save everything to the desktop or Documents and rely on search. Search is good enough now that "
            "folders aren't worth the effort.",
        ),
        (
            "How should I prepare my garden for spring?",
            "Draw a bed plan, decide what goes where, and follow a weekly schedule: clear, edge, feed, then "
            "plant in neat rows with a label on each.",
            "Pull out the worst weeds, scatter some seeds and see what comes up. A bit of wildness is good "
            "for the bees anyway.",
        ),
    ],
    "ugc": [
        (
            "Show us your desk setup!",
            "Monitor centred, keyboard square to the edge, pens sorted by colour. I can't work if anything is "
            "out of place.",
            "Three mugs, a pile of papers, a plant and usually a cat. Works for me.",
        ),
        (
            "How do you pack for a weekend away?",
            "Packing cubes, a printed checklist, and outfits laid out by day the night before.",
            "Ten minutes before I leave, I throw whatever's clean into a bag.",
        ),
        (
            "What's your Sunday routine?",
            "Laundry, ironing, fridge clean-out, then next week's plan, always in that order.",
            "I don't have one. Some Sundays I clean, some I sleep till noon.",
        ),
        (
            "Do you make your bed every morning?",
            "Every single day, corners tucked in. A made bed sets the tone for the day.",
            "Rarely. I'm getting back into it tonight anyway.",
        ),
        (
            "How do you store your spices?",
            "Alphabetically, in matching jars with printed labels. It took a weekend and it was worth it.",
            "In a jumbled box in the cupboard. I sniff them until I find the right one.",
        ),
        (
            "What do you do with old receipts?",
            "I scan them the same day and file them in folders by month.",
            "They live in my wallet until it won't close, then they go in the bin.",
        ),
        (
            "What state is your car in right now?",
            "Vacuumed every week, a bin bag in the door pocket, nothing on the seats.",
            "Let's just say there are a few coffee cups in there and my gym bag lives on the back seat.",
        ),
        (
            "What's your method for to-do lists?",
            "A bullet journal with sections, colour codes and a weekly review.",
            "I keep it all in my head. If it's important, I'll remember it.",
        ),
    ],
    "demo": (
        [
            "A 36-year-old accountant who labels every shelf in her pantry and plans her week in a "
            "colour-coded calendar.",
            "A warehouse supervisor who keeps his garage tools on a pegboard with outlines so he can see at "
            "once when one is missing.",
            "A project coordinator who can't relax until the dishes are done and the desk is clear.",
            "A retired librarian who still files her recipes by cuisine and in alphabetical order.",
            "A university student who keeps her notes in tabbed binders and plans every semester in a spreadsheet.",
            "A dentist who sticks to routines, likes everything in its place and dislikes last-minute changes.",
        ],
        [
            "A 31-year-old illustrator whose flat is cheerfully cluttered and who rarely plans more than a day ahead.",
            "A session musician who keeps his gear in a heap and goes with the flow.",
            "A freelance photographer who finds schedules stifling and doesn't mind a messy car.",
            "A student who saves everything to one crowded desktop and decides her weekends on the spot.",
            "A laid-back chef who cooks by instinct and never writes a shopping list.",
            "A retired sailor who says life is too short to fold socks.",
        ],
    ),
}

# 3  big_five  High Extraversion / Low Extraversion
POOLS[3] = {
    "posts": [
        (
            "I just moved to a new city. How can I settle in?",
            "Say yes to everything: join a running club, go to meetups, and invite the neighbours over for "
            "drinks. The quickest way to feel at home is to fill your calendar with people.",
            "Take it at your own pace: find a quiet café, a library and a walking route you like. One small "
            "hobby group can come later, once you feel settled.",
        ),
        (
            "How should I spend my birthday this year?",
            "Throw a party! Invite friends from every part of your life, book a big table somewhere lively, "
            "and keep the night going with karaoke.",
            "Spend it doing something you love, alone or with one close friend: a long walk, a favourite meal "
            "and a good book. A quiet day can feel just right.",
        ),
        (
            "What's a good way to recharge after a stressful week?",
            "Get together with friends for a dinner party, a night out or a game night. Laughing with a group "
            "is the fastest reset.",
            "Take a quiet evening alone with your phone off, a bath, a film and an early night. Some solitude "
            "lets you come back to yourself.",
        ),
        (
            "Any tips for working from home?",
            "Schedule regular video chats with colleagues, work from a café or coworking space a few days a "
            "week, and plan lunches with friends so you don't go stir-crazy.",
            "Set up a peaceful corner, turn off notifications and enjoy the focus. Keep calls to what's "
            "necessary and use the saved commute for a solitary walk.",
        ),
        (
            "I have a free weekend. What should I do?",
            "Round up a group for a day trip, a festival or a barbecue. Weekends are for seeing the people "
            "you don't catch during the week.",
            "Enjoy it slowly: sleep in, take a long solo hike or a quiet museum visit, and finish the book on "
            "your nightstand.",
        ),
        (
            "How do I make the most of a conference?",
            "Talk to as many people as you can: sit next to strangers, go to every after-party and swap "
            "contacts freely. The hallway conversations are where the value is.",
            "Pick a few talks that matter to you, approach one or two speakers with a thoughtful question, "
            "and take breaks away from the crowd to recharge.",
        ),
        (
            "What kind of exercise should I try?",
            "Team sports or group classes, like five-a-side football, spin or dance. The energy of a group "
            "keeps you coming back.",
            "Running, swimming or cycling on your own. You set your own pace and it doubles as thinking time.",
        ),
        (
            "How can I make friends as an adult?",
            "Put yourself out there often: join clubs, volunteer, host gatherings and invite people along. "
            "The more events you go to, the more friends you'll make.",
            "Focus on one shared interest, like a small book club or a pottery class, and get to know one or "
            "two people well over time.",
        ),
        (
            "Any advice for my first solo trip?",
            "Stay in hostels, join walking tours and pub crawls, and chat with other travellers. You'll never "
            "have to eat alone unless you want to.",
            "Enjoy the freedom: wander at your own pace, visit quiet museums and read in cafés. Travelling "
            "alone is a rare chance for peace.",
        ),
        (
            "How should I handle lunch breaks at a new job?",
            "Eat with the team every day and suggest a group lunch out on Fridays. It's the fastest way to "
            "get to know everyone.",
            "It's fine to take a quiet lunch with a book or a short walk. You'll get to know colleagues "
            "gradually through the work itself.",
        ),
        (
            "What's a good hobby for the evenings?",
            "Join a choir, an improv class or a pub quiz team. Something social gives you a reason to get out "
            "and meet people.",
            "Reading, drawing or learning an instrument at home. A calm evening hobby is a good way to unwind.",
        ),
        (
            "My partner wants to host Christmas this year. Thoughts?",
            "Go for it! Invite both families, add a few friends who'd otherwise be alone, and make it a big, "
            "noisy celebration.",
            "Keep it small: just close family, a simple menu and time to relax. A quiet Christmas is easier "
            "on everyone.",
        ),
        (
            "How do you study best?",
            "In a study group. Explaining things out loud and quizzing each other keeps me motivated.",
            "Alone in a quiet room with headphones on. I focus far better without anyone around.",
        ),
        (
            "What's the best way to celebrate a promotion?",
            "Drinks with the whole team after work, then call everyone you know. Good news is better shared.",
            "A nice dinner with your partner or a quiet treat for yourself. You've earned some calm.",
        ),
    ],
    "ugc": [
        (
            "What did you do last Friday night?",
            "Hosted twelve people for tacos and ended up at a karaoke bar until 2 a.m.",
            "Tea, a blanket and a detective novel. Perfect.",
        ),
        (
            "How do you feel about open-plan offices?",
            "I love them. The buzz gives me energy and I enjoy chatting between tasks.",
            "They drain me. I book a meeting room just so I can think.",
        ),
        (
            "What's your ideal holiday?",
            "A group trip with friends, a big villa and plenty of nights out.",
            "A cabin by a lake with no neighbours in sight.",
        ),
        (
            "Do you talk to strangers on trains?",
            "Always! I've made three good friends that way.",
            "Headphones on, eyes on my book.",
        ),
        (
            "How do you spend your lunch hour?",
            "Out with colleagues, and I'm usually the one rounding everyone up.",
            "A walk alone in the park. It's my quiet time.",
        ),
        (
            "What's your favourite weekend activity?",
            "Five-a-side football with the neighbourhood crowd, then drinks with everyone.",
            "Long solo bike rides through the countryside.",
        ),
        (
            "How do you celebrate good news?",
            "I call everyone I know and throw a little get-together.",
            "A quiet dinner at home with my partner is enough.",
        ),
        (
            "What's the best part of a wedding?",
            "The dance floor and meeting all the other guests.",
            "The ceremony. I usually slip away before the party gets loud.",
        ),
    ],
    "demo": (
        [
            "A 28-year-old event planner who knows everyone in her neighbourhood and is always organizing the "
            "next get-together.",
            "A sales representative who gets energy from meeting new people and spends most evenings out with friends.",
            "A retired teacher who runs the village choir and hosts Sunday lunches for a dozen people.",
            "A university student in four clubs who is always the first to start conversations at parties.",
            "A bartender who loves a crowded room and chats with every customer.",
            "A 40-year-old estate agent who recharges by spending time with big groups of friends.",
        ],
        [
            "A 35-year-old archivist who enjoys her own company and recharges with quiet evenings at home.",
            "A software tester who prefers one-on-one conversations and finds big parties tiring.",
            "A forest ranger who loves long stretches of solitude and keeps a small circle of friends.",
            "A translator who works from home and keeps social plans to a minimum.",
            "A graduate student who likes to study alone and spends weekends reading.",
            "A retired watchmaker who enjoys calm routines and the company of a couple of close friends.",
        ],
    ),
}

# 0  demographics  Young / Older
POOLS[0] = {
    "posts": [
        (
            "How can I keep in touch with friends who live far away?",
            "Start a group chat and keep it lively with memes and voice notes, and set up a monthly gaming or "
            "video-call night so it still feels like hanging out.",
            "Pick up the phone on a set evening each week, send cards on birthdays and write the occasional "
            "letter. A yearly visit gives you something to look forward to.",
        ),
        (
            "What's a good way to stay fit?",
            "Try a HIIT app or a climbing gym with friends, and track your progress on your phone. Mix it up "
            "so it never gets boring.",
            "Daily brisk walks, gentle strength work twice a week, and some stretching or tai chi to protect "
            "your joints and balance. Check with your doctor before starting anything new.",
        ),
        (
            "What should I cook for dinner tonight?",
            "Something quick and cheap: one-pan pasta, or instant ramen upgraded with an egg and spinach. Ten "
            "minutes and barely any washing up in the shared kitchen.",
            "A simple roast chicken with potatoes and vegetables is hard to beat. It's nourishing, leaves "
            "leftovers for tomorrow, and the grandchildren always come over for it.",
        ),
        (
            "Any tips for saving money?",
            "Use a budgeting app, cancel the streaming subscriptions you forgot about, and grab student "
            "discounts everywhere. Even a little from each part-time paycheck adds up.",
            "Review your pension and insurance policies, cut back on what you no longer need now the children "
            "have left home, and ask about senior discounts; many shops and bus companies offer them.",
        ),
        (
            "How do I deal with stress?",
            "Take breaks from social media, go skating or gaming with friends, and don't be afraid to use "
            "the campus counselling service. Exams and first jobs are a lot.",
            "Keep a steady routine, spend time in the garden and talk things over with old friends. After "
            "decades of ups and downs, I find most worries shrink after a good night's sleep.",
        ),
        (
            "Where should I go on holiday this summer?",
            "Get a rail pass and hostel-hop through Europe with friends, or find a cheap flight to somewhere "
            "with beaches and good nightlife. Now's the time for adventure on a budget.",
            "A relaxing river cruise or a comfortable hotel in a spa town, with guided tours and no early "
            "flights. Good food and a gentle pace suit this stage of life.",
        ),
        (
            "What hobby could I pick up?",
            "Learn to edit videos, DJ or skateboard. There are free tutorials everywhere, and you can share "
            "what you make with your friends online.",
            "Gardening, watercolours or a bridge club are lovely. Plenty of people take them up after "
            "retiring and make new friends along the way.",
        ),
        (
            "How do I choose a new phone?",
            "Go for one with a great camera and fast charging so it keeps up with your apps and games. Last "
            "year's flagship is a bargain.",
            "Look for a large, clear screen, simple menus and a loud speaker. Ask the shop to set it up with "
            "big text, and pick the brand your family uses so they can help.",
        ),
        (
            "How can I improve my sleep?",
            "Stop scrolling at 2 a.m., keep the same wake-up time even after a night out, and don't count on "
            "energy drinks to fix it.",
            "Sleep naturally gets lighter as the years go by. Keep a steady bedtime, keep afternoon naps "
            "short, and ask your doctor whether any of your medications might be keeping you up.",
        ),
        (
            "Should I move to a new city?",
            "Yes, now's the time! You have few ties, a room in a flatshare is affordable, and starting your "
            "career somewhere new is an adventure.",
            "Think about what keeps you where you are: your doctor, your friends, family nearby. If you do "
            "move, choose somewhere close to good healthcare and to your children.",
        ),
        (
            "How can I make my weekends more meaningful?",
            "Try something new every weekend: a gig, a pop-up market, a road trip with mates. Your twenties "
            "are for collecting stories.",
            "Spend time with the grandchildren, visit old friends, and finally do the things you always said "
            "you'd get round to. Weekends are for the people who matter.",
        ),
        (
            "How can I be more productive at work?",
            "Use a task app synced across phone and laptop, batch your chat replies, and ask senior "
            "colleagues for feedback early; you'll learn fastest in your first jobs.",
            "Trust the routines that have served you for decades: a written list each morning, fewer meetings, "
            "and mentoring the younger staff so you can hand over what you needn't do yourself.",
        ),
        (
            "What should I wear to a friend's party?",
            "Something fun: a thrifted jacket, statement trainers and whatever's trending on your feed. "
            "Parties are the perfect excuse to experiment.",
            "Smart but comfortable: good trousers or a dress, shoes you can stand in all evening, and a "
            "cardigan for later on.",
        ),
        (
            "My computer keeps asking me to update. Should I?",
            "Yes, just hit update before bed. It patches security holes and you get the new features; I "
            "install them on day one.",
            "Yes, updates protect you from scams. If the screens are confusing, ask a family member or the "
            "library's computer help session to walk you through it the first time.",
        ),
    ],
    "ugc": [
        (
            "What's your favourite way to spend a summer evening?",
            "Skating with my mates and then a late-night kebab. Peak summer.",
            "Sitting on the porch with my wife, the radio on, watching the grandchildren play.",
        ),
        (
            "What music are you into lately?",
            "Hyperpop and whatever's blowing up on my feed this week.",
            "I keep going back to the records I bought in the seventies. They don't make them like that anymore.",
        ),
        (
            "How do you get your news?",
            "Mostly short videos and threads on my phone.",
            "The morning paper and the evening news on television, as always.",
        ),
        (
            "What's your biggest worry right now?",
            "Finding a flat I can afford and passing my final exams.",
            "My knees, and whether my pension will keep up with prices.",
        ),
        (
            "What did you do on New Year's Eve?",
            "A festival with friends. We danced until sunrise.",
            "A quiet dinner with family, and in bed shortly after midnight.",
        ),
        (
            "What's one piece of tech you can't live without?",
            "My phone, obviously. Group chats, music, banking, everything.",
            "My hearing aids, and the tablet my daughter set up for video calls.",
        ),
        (
            "Tell us about your first job.",
            "I'm still in it: weekend shifts at a bubble tea shop while I finish uni.",
            "A paper round in 1968, then forty years with the same firm.",
        ),
        (
            "Any plans for the weekend?",
            "Gaming marathon on Saturday, then brunch and a flea market with the flatmates on Sunday.",
            "Church on Sunday morning and lunch with the whole family.",
        ),
    ],
    "demo": (
        [
            "A 19-year-old first-year university student who lives in a shared flat and spends evenings "
            "gaming with friends.",
            "A 22-year-old barista and part-time content creator who saves up for music festivals.",
            "A 17-year-old high-school student who skateboards and plans to take a gap year.",
            "A 24-year-old junior developer in her first job who lives with two flatmates.",
            "A 20-year-old nursing student who follows fashion trends and travels on a student budget.",
            "A 23-year-old recent graduate who has just moved out of his parents' home.",
        ],
        [
            "A 68-year-old retired civil engineer who enjoys gardening and time with his five grandchildren.",
            "A 72-year-old widow who sings in the church choir and reads the newspaper every morning.",
            "A 63-year-old family doctor nearing retirement who walks his dog daily and likes classic films.",
            "A 75-year-old former seamstress who video-calls her grandchildren with her daughter's help.",
            "A 66-year-old retired postmaster who tends an allotment and listens to the radio.",
            "A 70-year-old grandmother who volunteers at the library and plays bridge twice a week.",
        ],
    ),
}

# 39  murray_needs  Strong need for Play / Indifferent to Play
POOLS[39] = {
    "posts": [
        (
            "I have a week off work. How should I use it?",
            "Make it a real break: sleep in, plan a day trip, try a board game café, and say yes to anything "
            "that sounds fun. Leave the laptop closed.",
            "Use it to get ahead: sort out the paperwork you've been postponing, finish a home repair, and "
            "maybe start an online course. A productive week off feels good when you're back.",
        ),
        (
            "How can I make my daily commute better?",
            "Turn it into fun time: a comedy podcast, a playlist to hum along to, or a puzzle game you only "
            "play on the train.",
            "Use it productively: answer emails, listen to an audiobook about your field, or plan the day's "
            "tasks before you arrive.",
        ),
        (
            "What should we do for a team-building day?",
            "An escape room, go-karting or a cooking contest. Something playful where people laugh together "
            "works better than any workshop.",
            "A focused workshop on processes or a strategy session. Solving real problems together is what "
            "builds working relationships.",
        ),
        (
            "How do I keep my kids busy during the school holidays?",
            "Water balloon fights, treasure hunts in the park, messy cookie baking and a living-room fort. "
            "Join in; you'll enjoy it as much as they do.",
            "Set up a daily schedule with reading time, a workbook, chores and some sport. Structure keeps "
            "them learning and stops the days from drifting.",
        ),
        (
            "What's a good way to celebrate finishing a big project?",
            "Go and have fun: a night at an arcade, a round of mini golf or a long lunch with the team. "
            "You've earned some play.",
            "Write a short review of what worked, tidy up the files and move on to the next priority. The "
            "finished project is the reward.",
        ),
        (
            "Any ideas for a long weekend with my partner?",
            "Book somewhere with a hot tub, pack a card game, and keep the plans loose so you can be "
            "spontaneous and silly together.",
            "Use it to tackle a shared project, like repainting the bedroom or sorting out your finances. "
            "Working side by side is time well spent.",
        ),
        (
            "How can I make better use of my lunch break?",
            "Step away from your desk: a quick game of table tennis, a walk with a funny podcast, or the "
            "crossword with colleagues.",
            "Eat quickly at your desk and use the rest of the hour to clear small tasks or read industry "
            "news, so you can leave earlier.",
        ),
        (
            "I'm feeling burnt out. What should I do?",
            "Put real play back into your week: a silly dance class, a game night, time outdoors with no goal "
            "at all. Joy is fuel, not a luxury.",
            "Look at your workload, cut or delegate low-value tasks, and keep a tighter routine with regular "
            "sleep. Fixing the causes helps more than adding activities.",
        ),
        (
            "What should I do with a rainy Saturday?",
            "Board games, a film marathon with snacks, or karaoke in the living room. Rainy days are made for fun.",
            "Catch up on laundry, meal prep for the week and file the paperwork. By evening you'll have a "
            "clear week ahead.",
        ),
        (
            "How do I make studying less painful?",
            "Turn it into a game: flashcard races with friends, points for each chapter, and a fun reward "
            "like a film night when you hit a goal.",
            "Set fixed study hours, remove distractions and work through the material in order. Discipline "
            "gets it done faster than trying to make it fun.",
        ),
        (
            "What should I buy with a small gift card?",
            "Something purely fun: a new video game, concert tickets or a kite. Gift cards are for treats, "
            "not necessities.",
            "Something useful, like kitchen supplies, a book for work, or part of a household item you need anyway.",
        ),
        (
            "How can I make the most of long summer evenings?",
            "Picnics, frisbee in the park, outdoor cinema and late swims. Fill them with anything that makes "
            "you laugh.",
            "Use the extra daylight for garden work, an evening run, or that side project you've been meaning "
            "to finish.",
        ),
        (
            "We have a free afternoon on a business trip. Ideas?",
            "Go exploring: find a street-food market, a quirky museum or a local festival, and turn the work "
            "trip into a mini adventure.",
            "Catch up on email at the hotel, prepare for tomorrow's meeting and get an early night so you're sharp.",
        ),
        (
            "What should I do in my first week of retirement?",
            "Celebrate! Take up golf or dancing, have lazy breakfasts and plan the trips you kept putting "
            "off. This is your time to play.",
            "Set up a routine straight away: organize your finances, sign up for volunteer work and list the "
            "household projects, so the days have purpose.",
        ),
    ],
    "ugc": [
        (
            "What's on your bucket list?",
            "Riding the world's tallest roller coaster and learning to surf, badly.",
            "Paying off the mortgage and finishing my master's degree.",
        ),
        (
            "How do you unwind after work?",
            "Video games with friends or a silly dance session in the kitchen.",
            "I don't really unwind. I use the evening for chores and prepping for tomorrow.",
        ),
        (
            "Do you take all your vacation days?",
            "Every single one, and I plan fun trips for them months ahead.",
            "Rarely. I'd rather save them up or get them paid out.",
        ),
        (
            "What's your favourite board game?",
            "Anything chaotic, especially the ones that end with everyone shouting and laughing.",
            "I don't play games much. It feels like time I could spend on something useful.",
        ),
        (
            "What's the best part of your weekend?",
            "Saturday pancakes and a trip to the trampoline park with my nephews.",
            "Getting the weekly errands and paperwork done early on Saturday.",
        ),
        (
            "Do you have a hobby that's just for fun?",
            "Yes, juggling! I'm terrible at it and it cracks me up every time.",
            "Not really. My free time goes into learning skills for work.",
        ),
        (
            "How do you spend a snow day?",
            "Snowball fights, sledging and hot chocolate. Work can wait.",
            "Working from home as usual. Snow doesn't change my list.",
        ),
        (
            "What would you do with an extra hour every day?",
            "Play. A game, a bike ride, anything that makes me laugh.",
            "Add it to my work or study time. There's always more to get done.",
        ),
    ],
    "demo": (
        [
            "A 30-year-old graphic designer who never misses a game night and plans her weekends around fun.",
            "A father who takes his kids to the trampoline park every Saturday and jumps right in with them.",
            "A retired mechanic who plays in a darts league, goes dancing on Fridays and says life is for enjoying.",
            "A nurse who balances long shifts with karaoke nights and spontaneous day trips.",
            "A student with a drawer full of board games who throws a silly costume party every term.",
            "A 45-year-old bank clerk who spends every vacation day on festivals, travel and theme parks.",
        ],
        [
            "A 39-year-old operations manager who fills her free time with courses and errands and rarely "
            "takes time off.",
            "A law student who considers leisure a waste of time and spends weekends studying.",
            "A small-business owner who hasn't taken a holiday in five years and likes it that way.",
            "A retired engineer who keeps busy with repairs and volunteer bookkeeping rather than hobbies.",
            "A doctor who prefers efficient, productive days and finds games and parties pointless.",
            "A 27-year-old startup employee who measures a good day by how much he gets done.",
        ],
    ),
}


def direction(dim: int, pole: int) -> list[float]:
    """90 neutral values with the user's pole (1 positive, 0 negative) at `dim`.

    All floats (1.0 / 0.0 / 0.5) so Arrow-based readers infer one list<double> column type."""
    values = [0.5] * N_DIMENSIONS
    values[dim] = float(pole)
    return values


def pick(pair: tuple[str, str, str], pole: int) -> tuple[str, str]:
    """(text for the user's pole, text for the opposite pole) from a (post, positive, negative) triple."""
    _, positive, negative = pair
    return (positive, negative) if pole == 1 else (negative, positive)


def build(seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """Assemble the train and test records; the same seed always gives the same records."""
    rng = random.Random(seed)
    train: list[dict] = []
    test: list[dict] = []
    for k, dim in enumerate(sorted(POOLS)):
        pool = POOLS[dim]
        posts, ugc = pool["posts"], pool["ugc"]
        order = list(range(len(posts)))
        rng.shuffle(order)
        mains = order[: 2 * USERS_PER_POLE]  # one distinct main post per user
        # Users 0..5 prefer the positive pole, 6..11 the negative pole. Three go to test, alternating
        # which pole gets two of them so both splits stay balanced over the eight dimensions.
        poles = [1] * USERS_PER_POLE + [0] * USERS_PER_POLE
        test_users = {0, 1, USERS_PER_POLE} if k % 2 == 0 else {0, USERS_PER_POLE, USERS_PER_POLE + 1}
        test_mains = {mains[u] for u in test_users}
        demos = {1: list(pool["demo"][0]), 0: list(pool["demo"][1])}
        rng.shuffle(demos[1])
        rng.shuffle(demos[0])
        for u, pole in enumerate(poles):
            main = mains[u]
            in_test = u in test_users
            # Train histories never show a test post, so no test prompt leaks into training.
            candidates = [i for i in range(len(posts)) if i != main and (in_test or i not in test_mains)]
            pair_ids = rng.sample(candidates, N_PAIR)
            ugc_ids = rng.sample(range(len(ugc)), N_UGC)
            chosen, rejected = pick(posts[main], pole)
            pairs = []
            for i in pair_ids:
                c, r = pick(posts[i], pole)
                pairs.append(
                    {"prompt": posts[i][0], "chosen": c, "rejected": r, "Preference Direction": direction(dim, pole)}
                )
            comments = []
            for i in ugc_ids:
                comment, _ = pick(ugc[i], pole)
                comments.append({"prompt": ugc[i][0], "comment": comment, "Preference Direction": direction(dim, pole)})
            record = {
                "prompt": posts[main][0],
                "chosen": chosen,
                "rejected": rejected,
                "Preference Direction": direction(dim, pole),
                "Demographic Information": demos[pole][u % USERS_PER_POLE],
                "User-Generated Content": comments,
                "Pair-wise Comparative Feedback": pairs,
            }
            (test if in_test else train).append(record)
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Write one compact JSON object per line, atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=root / "src" / "alignx" / "data" / "demo",
        help="folder that receives train.jsonl and test.jsonl",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the record generator")
    args = parser.parse_args()
    train, test = build(args.seed)
    write_jsonl(args.out_dir / "train.jsonl", train)
    write_jsonl(args.out_dir / "test.jsonl", test)
    print(f"wrote {len(train)} train and {len(test)} test records to {args.out_dir}")


if __name__ == "__main__":
    main()
