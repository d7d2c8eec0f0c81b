"""Word lists for short invite codes: common, distinct, easy to say aloud and type.

Written for peerlane. The lists share no word and hold no duplicates (a test checks
uniqueness and shape); adjectives come first in a code, nouns last.
"""

ADJECTIVES: tuple[str, ...] = tuple(
    """
    amber azure bold brave brisk bright broad calm candid cheery chilly civic clean clear
    clever cloudy cobalt cool coral cosmic cozy crimson crisp curly daring dawn deep dense
    dewy dizzy dusty eager early easy electric elegant even fair fancy fast fiery final
    fleet fluffy foggy frank free fresh frosty gentle giant glad glossy golden grand grassy
    great green happy hardy hazy hearty honest humble icy ideal indigo ivory jade jolly
    jumbo keen kind large lavish lemon level light lilac lively local lofty loyal lucky
    lunar magic major maple mellow merry mighty milky minty misty modern mossy noble
    nimble north olive open orange oval pale patient peach pearly perky pink plain plucky
    polar polite proud purple quick quiet rapid rare ready regal rosy royal ruby rustic
    sandy scarlet shady sharp shiny silent silky silver simple sleek smart smooth snowy
    soft solar solid sonic spicy spring steady stormy sturdy sunny super sweet swift tall
    tame tidy tiny topaz tough tropic true urban vast velvet violet vivid warm wavy
    wild windy wise witty woody young zesty zippy
    """.split()
)

NOUNS: tuple[str, ...] = tuple(
    """
    acorn anchor apple arrow aspen badger bagel bamboo banjo basil beacon beaver bison
    blossom breeze brook buffalo bugle cabin cactus camel canoe canyon carrot castle cedar
    cello cherry cloud clover comet condor coyote crane cricket dolphin donkey dragon
    eagle echo ember falcon fern ferret fiddle finch fjord flute forest fox galaxy garden
    gazelle gecko geyser ginger glacier goose grape harbor hawk hazel heron hippo honey
    horizon husky igloo island jackal jaguar jasmine jelly kayak kernel kettle kiwi koala
    lagoon lantern lemur leopard lily llama lotus lynx magnet mango marble meadow melon
    meteor mint mole moose mountain nebula nectar needle nutmeg oasis ocean octopus onion
    orbit orchid otter owl panda panther parrot pebble pelican pepper piano pigeon pine
    planet plum pony poppy prairie puffin pumpkin quail quartz rabbit raccoon radish
    rainbow raven reef river robin rocket saddle salmon sparrow spruce squid star stream
    summit swan tiger tomato trout tulip turtle valley violin volcano walnut walrus whale
    willow wolf wombat yak zebra zephyr
    """.split()
)
