import argparse

parser = argparse.ArgumentParser()
args = parser.parse_args()
print(args)
