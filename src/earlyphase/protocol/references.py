"""The references a protocol's statistical section cites, by the method they support."""

from __future__ import annotations

STORER_1989 = (
    "Storer BE. Design and analysis of phase I clinical trials. Biometrics 1989;45:925-937."
)
KORN_1994 = (
    "Korn EL, Midthune D, Chen TT, Rubinstein LV, Christian MC, Simon RM. A comparison of two "
    "phase I trial designs. Statistics in Medicine 1994;13:1799-1806."
)
LIU_YUAN_2015 = (
    "Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials. Journal of "
    "the Royal Statistical Society: Series C (Applied Statistics) 2015;64:507-523."
)
YUAN_2016 = (
    "Yuan Y, Hess KR, Hilsenbeck SG, Gilbert MR. Bayesian optimal interval design: a simple "
    "and well-performing design for phase I oncology trials. Clinical Cancer Research "
    "2016;22:4291-4301."
)
OQUIGLEY_1990 = (
    "O'Quigley J, Pepe M, Fisher L. Continual reassessment method: a practical design for "
    "phase 1 clinical trials in cancer. Biometrics 1990;46:33-48."
)
CHEUNG_2005 = "Cheung YK. Coherence principles in dose-finding studies. Biometrika 2005;92:863-873."
CHEUNG_2011 = (
    "Cheung YK. Dose Finding by the Continual Reassessment Method. Boca Raton: Chapman & "
    "Hall/CRC Press; 2011."
)
LEE_CHEUNG_2009 = (
    "Lee SM, Cheung YK. Model calibration in the continual reassessment method. Clinical "
    "Trials 2009;6:227-238."
)
YAP_2017 = (
    "Yap C, Billingham LJ, Cheung YK, Craddock C, O'Quigley J. Dose transition pathways: the "
    "missing link between complex dose-finding designs and simple decision-making. Clinical "
    "Cancer Research 2017;23:7440-7447."
)
SIMON_1989 = (
    "Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical "
    "Trials 1989;10:1-10."
)
THALL_SIMON_1994 = (
    "Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical trials. "
    "Biometrics 1994;50:337-349."
)
LEE_LIU_2008 = (
    "Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials. "
    "Clinical Trials 2008;5:93-106."
)
IVANOVA_2005 = (
    "Ivanova A, Qaqish BF, Schell MJ. Continuous toxicity monitoring in phase II trials in "
    "oncology. Biometrics 2005;61:540-545."
)
THALL_SIMON_ESTEY_1995 = (
    "Thall PF, Simon RM, Estey EH. Bayesian sequential monitoring designs for single-arm "
    "clinical trials with multiple outcomes. Statistics in Medicine 1995;14:357-379."
)
SPIRIT_DEFINE_2023 = (
    "Yap C, Rekowski J, Ursino M, et al. Enhancing quality and impact of early phase "
    "dose-finding clinical trial protocols: SPIRIT Dose-finding Extension (SPIRIT-DEFINE) "
    "guidance. BMJ 2023;383:e076386."
)
