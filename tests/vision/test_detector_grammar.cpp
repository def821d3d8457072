// make_detector()'s description language (the grammar in vision/face_detector.hpp): each
// construct builds the detector it describes (checked through name(), which spells out what was
// parsed), precedence and associativity, the presets as their expressions, and each malformed
// input's error message.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "vision/face_detector.hpp"

using namespace moodtunes::vision;

namespace {

std::string name_of(const std::string& description) { return make_detector(description)->name(); }

// The message make_detector() throws for `description`; fails the test when it does not throw.
std::string error_of(const std::string& description) {
  try {
    make_detector(description);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "'" << description << "' was accepted";
  return {};
}

}  // namespace

TEST(DetectorGrammar, HogBases) {
  EXPECT_EQ(name_of("hog"), "hog");
  EXPECT_EQ(name_of("hog-half"), "hog x0.50");
  EXPECT_EQ(name_of("hog-up"), "hog up1");
  EXPECT_EQ(name_of("hog@1.5"), "hog x1.50");
  // hog@S:M: faces up to M px of the input are 2M px of the enlarged frame, HOG's 80 px window
  // at pyramid level 4 (80 x 1.2^4 = 166 px), plus one level of slack: levels 0..5, 6 in all.
  EXPECT_EQ(name_of("hog@2:80"), "hog x2.00 levels 6");
  EXPECT_EQ(name_of("hog~-0.4"), "hog ~-0.4");
  EXPECT_EQ(name_of("hog@1.2~-0.4"), "hog x1.20 ~-0.4");
  EXPECT_EQ(name_of("hog-half~0.3"), "hog x0.50 ~0.3");
}

TEST(DetectorGrammar, CascadesAndTwoStage) {
  EXPECT_EQ(make_detector("haar")->box_style(), BoxStyle::kHaarDefault);
  EXPECT_EQ(make_detector("haar-alt2")->box_style(), BoxStyle::kHaarAlt2);
  EXPECT_EQ(make_detector("lbp")->box_style(), BoxStyle::kLbp);
  EXPECT_EQ(name_of("haar").rfind("haarcascade_frontalface_default.xml", 0), 0u);
  EXPECT_EQ(name_of("lbp").rfind("lbpcascade_frontalface_improved.xml", 0), 0u);
  EXPECT_EQ(name_of("two-stage").rfind("two-stage(haarcascade_frontalface_alt2.xml", 0), 0u);
  EXPECT_NE(name_of("two-stage-small").find("min=30"), std::string::npos);
  EXPECT_EQ(name_of("two-stage-small").find("max="), std::string::npos);
  EXPECT_NE(name_of("two-stage-small:100").find("min=30 max=100"), std::string::npos);
  EXPECT_NE(error_of("two-stage-small:20").find("two-stage-small:M"), std::string::npos);
  EXPECT_NE(error_of("two-stage-small:x").find("two-stage-small:M"), std::string::npos);
  EXPECT_NE(error_of("two-stage-smaller").find("two-stage-small:M"), std::string::npos);
  EXPECT_EQ(make_detector("two-stage")->box_style(), BoxStyle::kHog);
}

TEST(DetectorGrammar, Rotation) {
  EXPECT_EQ(name_of("hog+rot"), "hog +rot -12 12");
  EXPECT_EQ(name_of("hog+rot=8:16"), "hog +rot -8 8 -16 16");
  EXPECT_EQ(name_of("hog~-0.4+rot=45"), "hog ~-0.4 +rot -45 45");
}

TEST(DetectorGrammar, Confirmation) {
  const std::string haar = name_of("haar"), lbp = name_of("lbp");
  EXPECT_EQ(name_of("hog^haar"), "hog confirmed by " + haar + " (below 0, rolled below 0)");
  EXPECT_EQ(name_of("hog^haar=0.2"), "hog confirmed by " + haar + " (below 0.2, rolled below 0.2)");
  EXPECT_EQ(name_of("hog~-1^haar/lbp=0:0.3"),
            "hog ~-1 confirmed by " + haar + " or " + lbp + " (below 0, rolled below 0.3)");
  // The "=" after the last "^" holds the scores: a confirmer's "+rot" takes no angle list.
  EXPECT_EQ(name_of("hog^hog+rot=0.5"), "hog confirmed by hog +rot -12 12 (below 0.5, rolled below 0.5)");
  // Left-associative: A^B^C = (A^B)^C.
  EXPECT_EQ(name_of("hog^haar^lbp"),
            "hog confirmed by " + haar + " (below 0, rolled below 0) confirmed by " + lbp + " (below 0, rolled below 0)");
  // "+rot" binds tighter than "^": the rotated detector is confirmed.
  EXPECT_EQ(name_of("hog+rot=8^haar"), "hog +rot -8 8 confirmed by " + haar + " (below 0, rolled below 0)");
}

TEST(DetectorGrammar, UnionIsOutermostAndRightAssociative) {
  EXPECT_EQ(name_of("hog|hog-half"), "hog | hog x0.50");
  EXPECT_EQ(name_of("hog|hog-half|hog-up"), "hog | hog x0.50 | hog up1");
  EXPECT_EQ(name_of("hog^haar|hog-up"), "hog confirmed by " + name_of("haar") + " (below 0, rolled below 0) | hog up1");
  EXPECT_EQ(name_of("haar|haar"), name_of("haar") + " | " + name_of("haar"));
}

TEST(DetectorGrammar, PresetsAreTheirExpressions) {
  const auto names = detector_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), kDefaultDetector);
  for (const auto& n : names) EXPECT_NO_THROW(make_detector(n)) << n;
  EXPECT_EQ(name_of("hog-confirmed"), name_of("hog~-0.4+rot^haar/hog~0.3=0:0.3"));
  EXPECT_EQ(name_of("hog-confirmed-zoom"), name_of("hog-confirmed|hog@1.2~-0.4^haar/hog~0.3"));
  EXPECT_EQ(name_of("hog-confirmed-wide"),
            name_of("hog~-0.4+rot=8:16^haar/hog~0.3=0:0.3|hog@1.2~-0.4+rot^haar/hog~0.3=0:0.3"));
  EXPECT_EQ(name_of("hog-small"), name_of("hog@2:80~-0.45^haar/hog~0.3=0.5:0.5|two-stage-small:100"));
  EXPECT_EQ(name_of("hog-confirmed-small"), name_of("hog-confirmed-wide|group:hog-small"));
  EXPECT_EQ(name_of("hog-confirmed-small"), name_of("hog-confirmed-wide") + " | group: " + name_of("hog-small"));
  // A preset stands wherever a base does.
  EXPECT_EQ(name_of("hog-confirmed|hog-small"), name_of("hog-confirmed") + " | " + name_of("hog-small"));
  EXPECT_EQ(name_of("hog-confirmed+rot"), name_of("hog-confirmed") + " +rot -12 12");
  EXPECT_NO_THROW(make_detector(kSmallFacesLiveDetector));
  // detect --small-faces: the default without the group gate.
  EXPECT_EQ(name_of(std::string(kLoneSmallFacesDetector)), name_of("hog-confirmed-wide") + " | " + name_of("hog-small"));
}

TEST(DetectorGrammar, UnknownBasesNameThemselvesAndTheKnownNames) {
  const std::string known = " (known: " + joined_detector_names(", ") + ", hog@SCALE, hog@SCALE:MAX_FACE_PX)";
  for (const std::string bad : {"nope", "hog@0", "hog@-1", "hog@x", "hog@", "hog@2:0", "hog@2:", "hog~x", "hog~",
                                "hog-small~1", "haar~0.3", "hog+rot~0.3", "HOG", " hog"})
    EXPECT_EQ(error_of(bad), "unknown detector '" + bad + "'" + known);
  // An empty part of a union or confirmation is an unknown (empty) base.
  for (const std::string bad : {"", "hog|", "|hog", "^haar", "hog^", "hog^haar/", "hog|group:"})
    EXPECT_EQ(error_of(bad), "unknown detector ''" + known) << bad;
}

TEST(DetectorGrammar, MalformedConstructsSayWhatIsExpected) {
  EXPECT_EQ(error_of("hog|haar"), "detector union 'hog|haar' mixes box styles");
  EXPECT_EQ(error_of("hog-up|lbp"), "detector union 'hog-up|lbp' mixes box styles");
  EXPECT_EQ(error_of("hog|group:haar"), "detector union 'hog|group:haar' mixes box styles");
  EXPECT_EQ(error_of("group:hog"), "detector 'group:hog': group: marks the right side of a union, as in A|group:B");
  EXPECT_EQ(error_of("hog^group:hog"), "detector 'group:hog': group: marks the right side of a union, as in A|group:B");
  for (const std::string bad : {"hog^haar=x", "hog^haar=0:", "hog^haar=:1", "hog^haar=1:2:3", "hog^haar="})
    EXPECT_EQ(error_of(bad), "detector '" + bad + "': expected A^B=SCORE or A^B=SCORE:ROLLED_SCORE");
  for (const std::string bad : {"hog+rot=0", "hog+rot=50", "hog+rot=-8", "hog+rot=a", "hog+rot=8:", "hog+rot="})
    EXPECT_EQ(error_of(bad), "detector '" + bad + "': +rot= takes angles in (0, 45] degrees, e.g. +rot=8:16");
  EXPECT_EQ(error_of("hog@10").rfind("HOG detector: frame_scale must be in (0.05, 8]", 0), 0u);
  EXPECT_EQ(error_of("hog@0.01").rfind("HOG detector: frame_scale must be in (0.05, 8]", 0), 0u);
}
