# frozen_string_literal: true

# What the README's Redis example writes: one row per crawled URL.
class Page < ApplicationRecord
end
